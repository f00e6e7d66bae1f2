using Microsoft.Playwright;

namespace SparkControl.Tests.Infrastructure;

public static class BlazorFileInputs
{
    /// <summary>
    /// Sets a file on a Blazor <c>InputFile</c> once it listens. The component wires its change listener from JS after
    /// its first render, in a message of its own; a file set before that is lost without a trace. Blazor's init marks
    /// the element (<c>_blazorInputFileNextFileId</c>, InputFile.ts), so the wait is on exactly that, not on a render.
    /// </summary>
    public static async Task SetBlazorInputFilesAsync(this ILocator input, string path)
    {
        await input.EvaluateAsync(
            "element => new Promise(resolve => { const ready = () => element._blazorInputFileNextFileId !== undefined ? resolve() : requestAnimationFrame(ready); ready(); })",
            null,
            new LocatorEvaluateOptions { Timeout = 60_000 });
        await input.SetInputFilesAsync(path);
    }
}
