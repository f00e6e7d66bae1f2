using Microsoft.AspNetCore.Components;

namespace SparkControl.Web.Components;

/// <summary>
/// A component that shows live state: it subscribes to Core's streams once and re-renders on each update. It holds one
/// <see cref="CancellationTokenSource"/> and the loops it started; disposing cancels, then awaits them.
/// </summary>
public abstract class LiveComponentBase : ComponentBase, IAsyncDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly List<Task> _loops = [];

    /// <summary>Cancelled when the component goes away; pass it to work the component starts.</summary>
    protected CancellationToken ComponentToken => _cts.Token;

    /// <summary>Applies every item of <paramref name="source"/> on the renderer's thread, then re-renders.</summary>
    protected void Watch<T>(Func<CancellationToken, IAsyncEnumerable<T>> source, Action<T> apply)
    {
        _loops.Add(LoopAsync());

        async Task LoopAsync()
        {
            try
            {
                await foreach (var item in source(_cts.Token))
                {
                    await InvokeAsync(() =>
                    {
                        apply(item);
                        StateHasChanged();
                    });
                }

                // A stream that ends (a log whose container stopped) changes what the page shows too.
                await InvokeAsync(StateHasChanged);
            }
            catch (OperationCanceledException) when (_cts.IsCancellationRequested)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        await Task.WhenAll(_loops);
        await DisposeCoreAsync();
        _cts.Dispose();
        GC.SuppressFinalize(this);
    }

    protected virtual ValueTask DisposeCoreAsync() => ValueTask.CompletedTask;
}
