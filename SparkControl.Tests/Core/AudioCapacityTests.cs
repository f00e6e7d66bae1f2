using Microsoft.Extensions.Time.Testing;
using SparkControl.Core.Gateway;
using SparkControl.Core.Sparks;

namespace SparkControl.Tests.Core;

/// <summary>The audio workers' caps and queue, with a fake clock: who gets a slot, in what order, and what is refused.</summary>
public sealed class AudioCapacityTests : IDisposable
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-12-02T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
    private readonly FakeTimeProvider _time = new(Start);
    private readonly AudioCapacity _capacity;

    public AudioCapacityTests() => _capacity = new AudioCapacity(_time);

    public void Dispose() => _capacity.Dispose();

    private static AudioWorker Worker(string name, int cap = 2, bool healthy = true, DateTimeOffset? checkedAt = null) =>
        new("demo", name, AudioRole.Transcription, new Uri("http://127.0.0.1:9000/"), [new ServiceModelName("asr", [])], cap, healthy, checkedAt ?? Start);

    private Task<AudioSlot> Acquire(params AudioWorker[] workers) => _capacity.AcquireAsync(workers, 4, TimeSpan.FromSeconds(30), CancellationToken.None);

    [Fact]
    public async Task CapTwoQueueFour_TheSeventhIsRefused_AndTheQueueIsServedInArrivalOrder()
    {
        var worker = Worker("a");
        var first = await Acquire(worker);
        var second = await Acquire(worker);
        var queued = Enumerable.Range(0, 4).Select(_ => Acquire(worker)).ToList();

        var refused = await Assert.ThrowsAsync<AudioCapacityException>(() => Acquire(worker));
        Assert.All(queued, q => Assert.False(q.IsCompleted));
        Assert.Equal(4, _capacity.Now().ByWorker["demo/a"].Queued);

        first.Complete(AudioOutcome.Answered);
        await queued[0].WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(queued.Skip(1), q => Assert.False(q.IsCompleted));
        second.Complete(AudioOutcome.Answered);
        await queued[1].WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(queued[2].IsCompleted);
        Assert.True(refused.RetryAfter >= TimeSpan.FromSeconds(1));
        Assert.Equal(1, _capacity.Now().ByWorker["demo/a"].Rejected);
    }

    [Fact]
    public async Task RetryAfter_ComesFromTheMeasuredServiceTime()
    {
        var worker = Worker("a", cap: 1);
        var slot = await Acquire(worker);
        _time.Advance(TimeSpan.FromSeconds(8));
        slot.Complete(AudioOutcome.Answered);
        var held = await Acquire(worker);
        var queued = Enumerable.Range(0, 4).Select(_ => Acquire(worker)).ToList();

        var refused = await Assert.ThrowsAsync<AudioCapacityException>(() => Acquire(worker));

        // Four ahead in the queue on one slot of eight seconds: five rounds.
        Assert.Equal(TimeSpan.FromSeconds(40), refused.RetryAfter);
        Assert.Equal(8, _capacity.Now().ByWorker["demo/a"].RecentLatencySeconds);
        held.Dispose();
    }

    [Fact]
    public async Task TwoWorkers_TheOneWithFewerInFlightGetsTheRequest()
    {
        var (a, b) = (Worker("a"), Worker("b"));
        var slots = new List<AudioSlot>();
        for (var i = 0; i < 4; i++)
        {
            slots.Add(await Acquire(a, b));
        }

        Assert.Equal(2, slots.Count(s => s.Worker.Service == "a"));
        Assert.Equal(2, slots.Count(s => s.Worker.Service == "b"));
        slots.First(s => s.Worker.Service == "b").Complete(AudioOutcome.Answered);
        Assert.Equal("b", (await Acquire(a, b)).Worker.Service);
    }

    [Fact]
    public async Task AnUnhealthyWorker_IsSkipped_AndNoneUsable_IsRefusedAtOnce()
    {
        var slot = await Acquire(Worker("a", healthy: false), Worker("b"));

        Assert.Equal("b", slot.Worker.Service);
        var none = await Assert.ThrowsAsync<AudioCapacityException>(() => Acquire(Worker("a", healthy: false)));
        Assert.Contains("not Healthy", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWorkerThatRefused_IsSkipped_UntilHealthSeesItAfterwards()
    {
        var slot = await Acquire(Worker("a"), Worker("b", cap: 0));
        slot.Complete(AudioOutcome.Refused);
        _time.Advance(TimeSpan.FromSeconds(1));

        await Assert.ThrowsAsync<AudioCapacityException>(() => Acquire(Worker("a", checkedAt: Start)));
        var again = await Acquire(Worker("a", checkedAt: _time.GetUtcNow()));

        Assert.Equal("a", again.Worker.Service);
        Assert.Equal(1, _capacity.Now().ByWorker["demo/a"].Refused);
    }

    [Fact]
    public async Task AWaitThatRunsOut_IsRefusedWithRetryAfter_AndLeavesTheQueue()
    {
        var worker = Worker("a", cap: 1);
        using var held = await Acquire(worker);
        var waiting = _capacity.AcquireAsync([worker], 4, TimeSpan.FromSeconds(5), CancellationToken.None);

        _time.Advance(TimeSpan.FromSeconds(6));

        var timedOut = await Assert.ThrowsAsync<AudioCapacityException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("within 5 s", timedOut.Message, StringComparison.Ordinal);
        Assert.Equal(0, _capacity.Now().ByWorker["demo/a"].Queued);
    }

    [Fact]
    public async Task AClientThatLeavesTheQueue_IsNotServedLater()
    {
        var worker = Worker("a", cap: 1);
        var held = await Acquire(worker);
        using var leaving = new CancellationTokenSource();
        var gone = _capacity.AcquireAsync([worker], 4, TimeSpan.FromSeconds(30), leaving.Token);
        var next = Acquire(worker);

        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gone.WaitAsync(TimeSpan.FromSeconds(10)));
        held.Complete(AudioOutcome.Answered);

        Assert.Equal("a", (await next.WaitAsync(TimeSpan.FromSeconds(10))).Worker.Service);
        Assert.Equal(1, _capacity.Now().ByWorker["demo/a"].InFlight);
    }
}
