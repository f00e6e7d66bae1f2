using SparkControl.Core.Streams;

namespace SparkControl.Tests.Core;

public sealed class SnapshotStreamTests
{
    private sealed record State(int Value);

    [Fact]
    public async Task WatchAsync_NewWatcher_GetsCurrentSnapshotFirst()
    {
        var stream = new SnapshotStream<State>(new State(1));
        stream.Publish(new State(2));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        await using var watcher = stream.WatchAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await watcher.MoveNextAsync());

        Assert.Equal(2, watcher.Current.Value.Value);
        Assert.Equal(1, watcher.Current.Version);
    }

    [Fact]
    public async Task WatchAsync_Updates_ArriveInOrderWithIncreasingVersions()
    {
        var stream = new SnapshotStream<State>(new State(0));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = new List<Versioned<State>>();
        var reader = Task.Run(async () =>
        {
            await foreach (var item in stream.WatchAsync(cts.Token))
            {
                received.Add(item);
                if (item.Value.Value == 5)
                {
                    break;
                }
            }
        });
        await Infrastructure.Wait.UntilAsync(() => stream.WatcherCount == 1, "the watcher subscribed");

        for (var i = 1; i <= 5; i++)
        {
            stream.Publish(new State(i));
        }

        await reader;
        Assert.Equal([0, 1, 2, 3, 4, 5], received.Select(r => r.Value.Value));
        Assert.Equal([0L, 1, 2, 3, 4, 5], received.Select(r => r.Version));
    }

    [Fact]
    public async Task WatchAsync_Cancelled_RemovesTheWatcher()
    {
        var stream = new SnapshotStream<State>(new State(0));
        using var cts = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            await foreach (var _ in stream.WatchAsync(cts.Token))
            {
            }
        });
        await Infrastructure.Wait.UntilAsync(() => stream.WatcherCount == 1, "the watcher subscribed");

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reader);
        Assert.Equal(0, stream.WatcherCount);
    }

    [Fact]
    public void Publish_SameInstance_DoesNotBumpTheVersion()
    {
        var stream = new SnapshotStream<State>(new State(7));

        var result = stream.Publish(s => s);

        Assert.Equal(0, result.Version);
        Assert.Equal(0, stream.Current.Version);
    }

    [Fact]
    public async Task WatchAsync_SlowWatcher_KeepsTheNewestAndDropsTheOldest()
    {
        var stream = new SnapshotStream<State>(new State(0));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var watcher = stream.WatchAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await watcher.MoveNextAsync());

        var total = SnapshotStream<State>.WatcherBuffer + 50;
        for (var i = 1; i <= total; i++)
        {
            stream.Publish(new State(i));
        }

        var seen = new List<int>();
        while (seen.Count < SnapshotStream<State>.WatcherBuffer && await watcher.MoveNextAsync())
        {
            seen.Add(watcher.Current.Value.Value);
        }

        Assert.Equal(total, seen[^1]);
        Assert.Equal(51, seen[0]);
    }
}
