using System.Threading.Channels;
using Microsoft.AspNetCore.Components;
using SparkControl.Core.Swaps;

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

    /// <summary>
    /// Applies every item of <paramref name="source"/> on the renderer's thread, in order, and re-renders once per
    /// batch: the items that arrived while the last render ran are applied together, so a burst (a chatty container's
    /// log) costs a few renders, not one per line. A bounded hand-over keeps the source's backpressure.
    /// </summary>
    protected void Watch<T>(Func<CancellationToken, IAsyncEnumerable<T>> source, Action<T> apply) =>
        Watch(source, item =>
        {
            apply(item);
            return true;
        });

    /// <summary>
    /// As <see cref="Watch{T}(Func{CancellationToken, IAsyncEnumerable{T}}, Action{T})"/>, but <paramref name="apply"/>
    /// says whether the item changed what the component shows, and a batch where none did is not rendered: an open page
    /// costs the server a render and a diff only when something on it moves.
    /// </summary>
    protected void Watch<T>(Func<CancellationToken, IAsyncEnumerable<T>> source, Func<T, bool> apply)
    {
        var pending = Channel.CreateBounded<T>(new BoundedChannelOptions(1024) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        _loops.Add(PumpAsync());
        _loops.Add(LoopAsync());

        async Task PumpAsync()
        {
            Exception? failure = null;
            try
            {
                await foreach (var item in source(_cts.Token))
                {
                    await pending.Writer.WriteAsync(item, _cts.Token);
                }
            }
            catch (OperationCanceledException) when (_cts.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                failure = ex;
            }
            finally
            {
                pending.Writer.TryComplete(failure);
            }
        }

        async Task LoopAsync()
        {
            try
            {
                while (await pending.Reader.WaitToReadAsync(_cts.Token))
                {
                    await InvokeAsync(() =>
                    {
                        var changed = false;
                        while (pending.Reader.TryRead(out var item))
                        {
                            changed |= apply(item);
                        }

                        if (changed)
                        {
                            StateHasChanged();
                        }
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

    /// <summary>Re-renders every <paramref name="period"/> of <paramref name="time"/>: for figures that move with the clock, such as an uptime.</summary>
    protected void RenderEvery(TimeSpan period, TimeProvider time) => RenderEvery(period, time, () => true);

    /// <summary>
    /// Re-renders every <paramref name="period"/> while <paramref name="moving"/> says something shown moves with the
    /// clock (asked on the renderer's thread): a dashboard counting an idle model's unused time ticks, one with nothing
    /// moving does not.
    /// </summary>
    protected void RenderEvery(TimeSpan period, TimeProvider time, Func<bool> moving) => Watch(token => TicksAsync(period, time, token), _ => moving());

    private static async IAsyncEnumerable<DateTimeOffset> TicksAsync(TimeSpan period, TimeProvider time, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            await Task.Delay(period, time, cancellationToken);
            yield return time.GetUtcNow();
        }
    }

    /// <summary>
    /// Watches what each Spark serves now, computed again whenever health, the swaps or the fleet's configuration change:
    /// every page that shows a Spark's or a service's status reads it this way, so they all agree with the swap card from
    /// the phase a swap publishes, not from health's next check.
    /// </summary>
    protected void WatchFleet(FleetSources sources, Action<LiveFleet> apply)
    {
        var fleet = LiveFleet.Empty;
        // Version 0 is health's empty snapshot before its first check: no picture until a real one.
        Watch(sources.Health.WatchAsync, update => Apply(update.Version == 0 ? fleet : fleet with { Seen = update.Value }));
        Watch(sources.Swaps.WatchAsync, update => Apply(fleet with { Swaps = update.Value }));
        Watch(sources.Fleet.Stream.WatchAsync, update => Apply(fleet with { Configuration = update.Value }));

        // Always on the renderer's thread (Watch applies there), so the three never race for the picture.
        void Apply(LiveFleet next)
        {
            fleet = next with { Now = next.Seen is null ? null : FleetView.Of(next.Seen, next.Swaps, sources.Catalog.Current, next.Configuration) };
            apply(fleet);
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
