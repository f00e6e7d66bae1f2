using Microsoft.Extensions.Time.Testing;
using SparkControl.Core.Gateway;
using SparkControl.Core.Swaps;

namespace SparkControl.Tests.Core;

/// <summary>The gateway's side of the swap's drain: counting requests in flight, holding new ones, opening again.</summary>
public sealed class GatewayGateTests : IDisposable
{
    private static readonly string[] Demo = ["demo"];
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-26T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly GatewayGate _gate;

    public GatewayGateTests() => _gate = new GatewayGate(_time);

    private GatewayTraffic Published()
    {
        _time.Advance(GatewayGate.PublishInterval);
        return _gate.Traffic.Value;
    }

    [Fact]
    public async Task Lease_CountsInFlight_UntilDisposed_Once()
    {
        var lease = await _gate.EnterAsync("demo", CancellationToken.None);
        var during = Published();
        lease.Dispose();
        lease.Dispose();

        Assert.Equal(1, during.InFlight["demo"]);
        Assert.Equal(0, Published().InFlight["demo"]);
    }

    [Fact]
    public async Task TryEnter_EntersAnOpenSpark_AndGivesTheOpeningOfADrainedOne()
    {
        Assert.True(_gate.TryEnter("demo", out var lease, out var none));
        Assert.Null(none);
        var drain = _gate.DrainAsync(Demo, TimeSpan.FromSeconds(30), CancellationToken.None);
        lease.Dispose();
        await drain.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.False(_gate.TryEnter("demo", out var refused, out var opened));
        Assert.Null(refused);
        Assert.False(opened.IsCompleted);
        Assert.Equal(0, Published().InFlight["demo"]);
        _gate.Release(Demo);
        Assert.True(opened.IsCompleted);
        Assert.True(_gate.TryEnter("demo", out _, out _));
    }

    [Fact]
    public async Task Drain_WithNothingInFlight_ReturnsAtOnce()
    {
        var result = await _gate.DrainAsync(Demo, TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.Equal(new DrainResult(0, 0), result);
    }

    [Fact]
    public async Task Drain_WaitsForTheRequestInFlight()
    {
        var lease = await _gate.EnterAsync("demo", CancellationToken.None);

        var drain = _gate.DrainAsync(Demo, TimeSpan.FromSeconds(30), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.False(drain.IsCompleted);
        lease.Dispose();

        Assert.Equal(new DrainResult(1, 0), await drain.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Drain_IsBoundedInTime_AndReportsWhatStillRuns()
    {
        using var lease = await _gate.EnterAsync("demo", CancellationToken.None);

        var drain = _gate.DrainAsync(Demo, TimeSpan.FromSeconds(30), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(31));

        Assert.Equal(new DrainResult(1, 1), await drain.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task WhileDrained_NewRequestsWaitQueued_AndGoOnWhenReleased()
    {
        await _gate.DrainAsync(Demo, TimeSpan.FromSeconds(30), CancellationToken.None);

        var waiting = _gate.EnterAsync("demo", CancellationToken.None);
        var queued = Published();
        _gate.Release(Demo);
        using var lease = await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, queued.Queued);
        var after = Published();
        Assert.Equal(0, after.Queued);
        Assert.Equal(1, after.InFlight["demo"]);
    }

    [Fact]
    public async Task ADrainedSpark_DoesNotHoldAnother()
    {
        await _gate.DrainAsync(Demo, TimeSpan.FromSeconds(30), CancellationToken.None);

        var other = _gate.EnterAsync("spark-2", CancellationToken.None);

        Assert.True(other.IsCompletedSuccessfully);
        (await other).Dispose();
    }

    [Fact]
    public async Task QueueLimit_RefusesTheRequestBeyondIt()
    {
        await _gate.DrainAsync(Demo, TimeSpan.FromSeconds(30), CancellationToken.None);
        var first = _gate.EnterAsync("demo", CancellationToken.None, queueLimit: 1);

        var refused = await Assert.ThrowsAsync<GatewayQueueFullException>(() => _gate.EnterAsync("demo", CancellationToken.None, queueLimit: 1));

        Assert.Contains("1 requests are already waiting", refused.Message, StringComparison.Ordinal);
        _gate.Release(Demo);
        (await first.WaitAsync(TimeSpan.FromSeconds(10))).Dispose();
    }

    [Fact]
    public async Task QueuedBytes_RefuseTheBodyThatWouldPassTheLimit_AndFreeWhenAWaiterLeaves()
    {
        var swapEnds = new TaskCompletionSource();
        using var giveUp = new CancellationTokenSource();
        var first = _gate.WaitQueuedAsync(swapEnds.Task, giveUp.Token, bytes: 600, maxBytes: 1000);

        var refused = await Assert.ThrowsAsync<GatewayQueueFullException>(() => _gate.WaitQueuedAsync(swapEnds.Task, CancellationToken.None, bytes: 401, maxBytes: 1000));
        var fits = _gate.WaitQueuedAsync(swapEnds.Task, CancellationToken.None, bytes: 400, maxBytes: 1000);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        var afterLeaving = _gate.WaitQueuedAsync(swapEnds.Task, CancellationToken.None, bytes: 600, maxBytes: 1000);
        swapEnds.SetResult();

        Assert.Contains("hold 600 bytes", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Gateway:MaxQueuedBytes", refused.Message, StringComparison.Ordinal);
        await fits.WaitAsync(TimeSpan.FromSeconds(10));
        await afterLeaving.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, Published().Queued);
    }

    [Fact]
    public async Task AWaitingRequestThatGivesUp_LeavesTheQueue()
    {
        await _gate.DrainAsync(Demo, TimeSpan.FromSeconds(30), CancellationToken.None);
        using var giveUp = new CancellationTokenSource();

        var waiting = _gate.EnterAsync("demo", giveUp.Token);
        await giveUp.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, Published().Queued);
    }

    [Fact]
    public async Task ASecondDrain_KeepsTheSparkClosed_UntilReleased()
    {
        await _gate.DrainAsync(Demo, TimeSpan.FromSeconds(30), CancellationToken.None);
        await _gate.DrainAsync(Demo, TimeSpan.FromSeconds(30), CancellationToken.None);

        var waiting = _gate.EnterAsync("demo", CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        _gate.Release(Demo);

        (await waiting.WaitAsync(TimeSpan.FromSeconds(10))).Dispose();
    }

    public void Dispose() => _gate.Dispose();
}
