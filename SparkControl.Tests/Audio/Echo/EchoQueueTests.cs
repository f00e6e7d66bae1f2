using Microsoft.Extensions.Time.Testing;
using SparkControl.Core.Audio.Echo;

namespace SparkControl.Tests.Audio.Echo;

/// <summary>One echo cancellation at a time for the API and the Audio page, with a bounded number waiting.</summary>
public sealed class EchoQueueTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task Runs_OneAtATime_InTheOrderTheyAsk()
    {
        var queue = new EchoQueue(_time);
        using var first = queue.Enter(maxQueued: 2);
        using var second = queue.Enter(maxQueued: 2);
        using var release = new ManualResetEventSlim();
        var order = new List<string>();

        var running = first.RunAsync(() =>
        {
            release.Wait(TimeSpan.FromSeconds(60));
            lock (order)
            {
                order.Add("first");
            }

            return 1;
        }, CancellationToken.None);
        var next = second.RunAsync(() =>
        {
            lock (order)
            {
                order.Add("second");
            }

            return 2;
        }, CancellationToken.None);

        Assert.False(next.IsCompleted);
        release.Set();
        Assert.Equal(1, await running.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(2, await next.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(["first", "second"], order);
    }

    [Fact]
    public void Full_IsRefusedWithATimeFromTheLastRun_AndAPlaceFreesWhenATicketIsDisposed()
    {
        var queue = new EchoQueue(_time);
        var tickets = new List<EchoQueue.Ticket> { queue.Enter(maxQueued: 1), queue.Enter(maxQueued: 1) };

        var busy = Assert.Throws<EchoBusyException>(() => queue.Enter(maxQueued: 1));
        tickets[0].Dispose();
        tickets[0].Dispose();
        tickets.Add(queue.Enter(maxQueued: 1));

        Assert.Contains("2 echo cancellations are running or waiting", busy.Message, StringComparison.Ordinal);
        // No run finished yet: the guess is 5 s for each ahead.
        Assert.Equal(TimeSpan.FromSeconds(10), busy.RetryAfter);
        // A disposed ticket frees its place once, however often it is disposed.
        Assert.Throws<EchoBusyException>(() => queue.Enter(maxQueued: 1));
        tickets.ForEach(t => t.Dispose());
    }

    [Fact]
    public async Task ACancelledWait_GivesUpItsPlace()
    {
        var queue = new EchoQueue(_time);
        using var first = queue.Enter(maxQueued: 0);
        using var release = new ManualResetEventSlim();
        var running = first.RunAsync(() => release.Wait(TimeSpan.FromSeconds(60)), CancellationToken.None);
        using var giveUp = new CancellationTokenSource();

        using (var second = queue.Enter(maxQueued: 1))
        {
            var waiting = second.RunAsync(() => true, giveUp.Token);
            await giveUp.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        }

        using var third = queue.Enter(maxQueued: 1);
        release.Set();
        Assert.True(await running.WaitAsync(TimeSpan.FromSeconds(60)));
    }
}
