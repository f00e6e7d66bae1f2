using Microsoft.Extensions.Time.Testing;
using SparkControl.Core.Hosts;
using SparkControl.Sim.Hosting;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Sim;

public sealed class GpuReplayTests
{
    private static readonly string Timeline = Path.Combine(AppContext.BaseDirectory, "TestData", "nvidia-smi", "h100", "timeline-solid.csv");

    [Fact]
    public void Restamp_MovesTheFirstSampleToTheStartAndScalesGaps()
    {
        var replay = GpuReplay.Load(Timeline);
        var start = new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero);

        var restamped = replay.Restamp(start, speed: 2);

        Assert.Equal(replay.Samples.Length, restamped.Length);
        Assert.Equal(start, restamped[0].Timestamp);
        var originalSpan = replay.Samples[^1].Timestamp - replay.Samples[0].Timestamp;
        Assert.InRange((restamped[^1].Timestamp - start - (originalSpan / 2)).Duration(), TimeSpan.Zero, TimeSpan.FromMilliseconds(1));
        Assert.Equal(replay.Samples.Select(s => s.UtilizationPercent), restamped.Select(s => s.UtilizationPercent));
    }

    /// <summary>The first <paramref name="count"/> samples of a watch, moving fake time along while it waits.</summary>
    private static async Task<List<GpuSample>> WatchAsync(SimulatedSparkHost host, FakeTimeProvider time, int count)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var received = new List<GpuSample>();
        await using var samples = host.WatchGpuAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        while (received.Count < count)
        {
            var next = samples.MoveNextAsync().AsTask();
            await Wait.UntilAsync(() =>
            {
                if (!next.IsCompleted)
                {
                    time.Advance(TimeSpan.FromMilliseconds(250));
                }

                return next.IsCompleted;
            }, $"sample {received.Count + 1}", poll: TimeSpan.FromMilliseconds(2));
            Assert.True(await next);
            received.Add(samples.Current);
        }

        return received;
    }

    [Fact]
    public async Task WatchGpuAsync_WithReplay_PlaysOnceRestampedToThePresentThenZero()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2027, 3, 1, 9, 0, 0, TimeSpan.Zero));
        var replay = GpuReplay.Load(Timeline);
        await using var host = new SimulatedSparkHost(new SimSparkSettings { Replay = replay, ReplaySpeed = 4, GpuSampleInterval = TimeSpan.FromSeconds(1) }, time);
        var start = time.GetUtcNow();

        // The replay is anchored at the first watch, which is now.
        var received = await WatchAsync(host, time, replay.Samples.Length + 2);

        var played = received.Take(replay.Samples.Length).ToList();
        Assert.Equal(start, played[0].Timestamp);
        Assert.Equal(replay.Samples.Select(s => s.UtilizationPercent), played.Select(s => s.UtilizationPercent));
        Assert.InRange((played[^1].Timestamp - start - replay.Duration(4)).Duration(), TimeSpan.Zero, TimeSpan.FromMilliseconds(1));
        Assert.All(received.Skip(replay.Samples.Length), s => Assert.Equal(0, s.UtilizationPercent));
        Assert.All(received.Skip(replay.Samples.Length), s => Assert.True(s.Timestamp > played[^1].Timestamp));
    }

    [Fact]
    public async Task WatchGpuAsync_WithALoopingReplay_PlaysItAgainAfterItEnds()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2027, 3, 1, 9, 0, 0, TimeSpan.Zero));
        var replay = GpuReplay.Load(Timeline);
        await using var host = new SimulatedSparkHost(new SimSparkSettings { Replay = replay, ReplaySpeed = 4, ReplayLoop = true, GpuSampleInterval = TimeSpan.FromSeconds(1) }, time);

        var received = await WatchAsync(host, time, (2 * replay.Samples.Length) + 1);

        var first = received.Take(replay.Samples.Length).ToList();
        var second = received.Skip(replay.Samples.Length).Take(replay.Samples.Length).ToList();
        Assert.Equal(replay.Samples.Select(s => s.UtilizationPercent), second.Select(s => s.UtilizationPercent));
        Assert.True(second[0].Timestamp >= first[^1].Timestamp, "the second pass is stamped after the first");
        Assert.Equal(replay.Samples[0].UtilizationPercent, received[^1].UtilizationPercent);
    }

    [Fact]
    public async Task WatchGpuAsync_ReaderFarBehind_GetsEverySampleOnceWithItsOwnTimestamp()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2027, 3, 1, 9, 0, 0, TimeSpan.Zero));
        var replay = GpuReplay.Load(Timeline);
        await using var host = new SimulatedSparkHost(new SimSparkSettings { Replay = replay, ReplaySpeed = 4, GpuSampleInterval = TimeSpan.FromSeconds(1) }, time);
        var start = time.GetUtcNow();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var samples = host.WatchGpuAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await samples.MoveNextAsync());
        var received = new List<GpuSample> { samples.Current };

        // A reader busy for far longer than the whole capture (a loaded panel): nothing it missed may be lost or merged.
        time.Advance(replay.Duration(4) * 3);
        while (received.Count < replay.Samples.Length)
        {
            Assert.True(await samples.MoveNextAsync());
            received.Add(samples.Current);
        }

        Assert.Equal(replay.Samples.Select(s => s.UtilizationPercent), received.Select(s => s.UtilizationPercent));
        Assert.Equal(replay.Restamp(start, 4).Select(s => s.Timestamp), received.Select(s => s.Timestamp));
    }

    [Fact]
    public async Task WatchGpuAsync_ReplayWhenServing_IdlesUntilAModelAnswersThenPlaysFromThere()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2027, 3, 1, 9, 0, 0, TimeSpan.Zero));
        var replay = GpuReplay.Load(Timeline);
        await using var host = new SimulatedSparkHost(
            new SimSparkSettings { Replay = replay, ReplaySpeed = 4, ReplayWhenServing = true, GpuSampleInterval = TimeSpan.FromSeconds(1), FixedLoadTime = TimeSpan.FromSeconds(5) }, time);

        var idle = await WatchAsync(host, time, 3);
        await host.RunContainerAsync(ContainerLaunch.Of(new ContainerLaunchSpec
        {
            Name = "sparkcontrol-llm",
            Image = "vllm/vllm-openai:v0.11.0",
            Entrypoint = "vllm",
            Command = ["serve", "org/model", "--served-model-name", "m", "--port", "8000"],
        }), CancellationToken.None);
        await Wait.UntilAsync(() =>
        {
            time.Advance(TimeSpan.FromMilliseconds(500));
            return host.ModelServers["sparkcontrol-llm"].State == SparkControl.Sim.Server.SimServerState.Serving;
        }, "the model serves", poll: TimeSpan.FromMilliseconds(5));
        var serving = time.GetUtcNow();
        var played = await WatchAsync(host, time, replay.Samples.Length);

        Assert.All(idle, s => Assert.Equal(0, s.UtilizationPercent));
        Assert.Equal(replay.Samples.Select(s => s.UtilizationPercent), played.Select(s => s.UtilizationPercent));
        Assert.InRange(played[0].Timestamp, serving, serving + TimeSpan.FromSeconds(1));
    }
}
