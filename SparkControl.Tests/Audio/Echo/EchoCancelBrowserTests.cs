using Microsoft.Playwright;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Audio.Echo;

[Collection(BrowserCollection.Name)]
public sealed class EchoCancelBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    /// <summary>The Audio page's echo tab, opened as an operator would, with <paramref name="call"/>'s stereo WAV uploaded.</summary>
    private async Task<IPage> UploadAsync(SparkControlApp app, EchoTestCall call)
    {
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/audio");
        await page.GetByRole(AriaRole.Tab, new() { Name = "Echo cancellation" }).ClickAsync();
        await page.GetByTestId("echo-file").Locator("input[type=file]").SetBlazorInputFilesAsync(Path.Combine(call.Directory, "call.wav"));
        return page;
    }

    [Fact]
    public async Task AudioPage_UploadCall_ShowsDelayAndErle()
    {
        var call = await EchoTestCalls.GetAsync(EchoTestCalls.Default);
        await using var app = await SparkControlApp.StartAsync();
        var page = await UploadAsync(app, call);

        try
        {
            await Expect(page.GetByTestId("echo-delay")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^1(19|20|21)\.\d ms$"), new() { Timeout = 120_000 });
        }
        catch (PlaywrightException ex)
        {
            await page.SaveScreenshotAsync("audio-echo-failed.png");
            throw new InvalidOperationException($"The panel showed: {await page.GetByTestId("echo-panel").InnerTextAsync()}", ex);
        }
        await Expect(page.GetByTestId("echo-erle")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+\.\d dB$"));
        await Expect(page.GetByTestId("echo-after")).ToHaveAttributeAsync("src", new System.Text.RegularExpressions.Regex("^data:audio/wav;base64,"));
        await page.SaveScreenshotAsync("audio-echo.png");
    }

    [Fact]
    public async Task AudioPage_UploadDriftingCall_ShowsTheDriftFollowed()
    {
        var call = await EchoTestCalls.GetAsync("drift-60ppm");
        await using var app = await SparkControlApp.StartAsync();
        var page = await UploadAsync(app, call);

        await Expect(page.GetByTestId("echo-drift")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^the loudspeaker's clock ran (59|60|61)\.\d ppm slow; the canceller followed it$"), new() { Timeout = 120_000 });
        await Expect(page.GetByTestId("echo-delay")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^1(19|20|21)\.\d ms$"));
        await Expect(page.GetByTestId("echo-loudspeaker")).ToHaveTextAsync("linear");
        await page.SaveScreenshotAsync("audio-echo-drift.png");
    }

    [Fact]
    public async Task AudioPage_UploadPathChangeCall_ShowsWhereTheRoomChanged()
    {
        var call = await EchoTestCalls.GetAsync("path-change");
        await using var app = await SparkControlApp.StartAsync();
        var page = await UploadAsync(app, call);

        // The call's room changes at 28.8 s (eng/audio/fault-calls.txt).
        await Expect(page.GetByTestId("echo-path")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^changed at (28\.[5-9]|29\.[0-3]) s; the room was fitted on each side apart$"), new() { Timeout = 120_000 });
        await Expect(page.GetByTestId("echo-drift")).ToHaveTextAsync("none found");
        await page.SaveScreenshotAsync("audio-echo-path-change.png");
    }
}
