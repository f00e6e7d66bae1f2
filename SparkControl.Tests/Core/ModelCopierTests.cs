using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SparkControl.Core.Disk;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Validation;
using SparkControl.Sim.Hosting;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Core;

/// <summary>Copying a model to the other Spark over two simulated Sparks on a clock the test moves: progress, faults, refusals.</summary>
public sealed class ModelCopierTests : IAsyncDisposable
{
    private const string Path = "/home/demo/models/ft-both";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 9, 0, 0, TimeSpan.Zero));
    private readonly SimulatedSparkHost _head;
    private readonly SimulatedSparkHost _worker;
    private readonly SparkFleet _fleet;
    private readonly ModelCopier _copier;
    private readonly ConcurrentQueue<ModelCopyStatus> _seen = new();

    public ModelCopierTests()
    {
        _head = new SimulatedSparkHost(new SimSparkSettings { Name = "spark-1" }, _time);
        _worker = new SimulatedSparkHost(new SimSparkSettings { Name = "spark-2" }, _time);
        _head.LinkPeers["10.0.0.2"] = _worker;
        _fleet = new SparkFleet(_time);
        Publish(withLink: true);
        _copier = new ModelCopier(_fleet, _time, NullLogger<ModelCopier>.Instance);
        _copier.Changed += _seen.Enqueue;
    }

    private void Publish(bool withLink)
    {
        SparkDefinition Definition(string name) => new() { Name = name, Host = "127.0.0.1", User = "demo", ModelRoots = ["/home/demo/models"] };
        var head = withLink
            ? Definition("spark-1") with { LaunchCluster = new LaunchClusterSettings { Script = "/opt/launch-cluster.sh", Nodes = ["10.0.0.1", "10.0.0.2"], ContainerName = "vllm_node" } }
            : Definition("spark-1");
        _fleet.Publish(new FleetConfiguration([new SparkEntry(head, _head, true), new SparkEntry(Definition("spark-2"), _worker, true)], [], false));
    }

    private void PutOnHead(long bytes)
    {
        _head.Disk.AddDirectory(Path, bytes, "config.json", "model.safetensors", "tokenizer.json");
        _head.Disk.AddFile($"{Path}/config.json", "{\"model_type\":\"qwen3\"}");
    }

    /// <summary>Moves the clock a little at a time until the copy ends; the copy and its progress each run on their own.</summary>
    private async Task<ModelCopyStatus> RunToEndAsync(string id)
    {
        await Wait.UntilAsync(() =>
        {
            _time.Advance(TimeSpan.FromMilliseconds(250));
            return Task.FromResult(_copier.Find(id)!.Finished);
        }, "the copy ends", TimeSpan.FromSeconds(60));
        return _copier.Find(id)!;
    }

    [Fact]
    public async Task ACopy_ReportsTheSizeOnTheOtherSparkAsItGrows_AndIsDoneWhenTheSizesMatch()
    {
        PutOnHead(10L << 30);

        var started = await _copier.StartAsync("spark-1", "spark-2", Path, "test", CancellationToken.None);
        var ended = await RunToEndAsync(started.Id);

        Assert.Equal(("10.0.0.2", 10L << 30, 0L), (started.Link, started.TotalBytes, started.DoneBytes));
        Assert.True(ended.Phase == ModelCopyPhase.Done, ended.Error);
        Assert.Equal(10L << 30, ended.DoneBytes);
        Assert.Contains(_seen, s => s.Phase == ModelCopyPhase.Copying && s.DoneBytes is > 0 and < 10L << 30 && s.Message.StartsWith("copying: ", StringComparison.Ordinal));
        Assert.Equal(10L << 30, _worker.Disk.Usage(Path));
        Assert.Equal("{\"model_type\":\"qwen3\"}", _worker.Disk.ReadFile($"{Path}/config.json"));
    }

    [Fact]
    public async Task TheOtherSparkGoingAwayMidCopy_FailsIt_SayingSo_AndTheSameCopyMayBeAskedForAgain()
    {
        PutOnHead(10L << 30);
        var started = await _copier.StartAsync("spark-1", "spark-2", Path, "test", CancellationToken.None);
        await Wait.UntilAsync(() =>
        {
            _time.Advance(TimeSpan.FromMilliseconds(250));
            return Task.FromResult(_worker.Disk.Usage(Path) is > 0);
        }, "part of the copy is there", TimeSpan.FromSeconds(60));

        _worker.Reachable = false;
        var failed = await RunToEndAsync(started.Id);
        _worker.Reachable = true;
        var again = await _copier.StartAsync("spark-1", "spark-2", Path, "test", CancellationToken.None);
        var resumed = await RunToEndAsync(again.Id);

        Assert.Equal(ModelCopyPhase.Failed, failed.Phase);
        Assert.Contains("spark-2 is unreachable", failed.Error, StringComparison.Ordinal);
        // rsync resumes: the second copy starts from what the first left there.
        Assert.InRange(again.DoneBytes, 1, (10L << 30) - 1);
        Assert.Equal(ModelCopyPhase.Done, resumed.Phase);
    }

    [Fact]
    public async Task Refusals_BeforeAnythingIsCopied()
    {
        PutOnHead(4_000_000_000_000);
        var noRoom = await Assert.ThrowsAsync<SettingsConflictException>(() => _copier.StartAsync("spark-1", "spark-2", Path, "test", CancellationToken.None));
        var nothing = await Assert.ThrowsAsync<SettingsConflictException>(() => _copier.StartAsync("spark-2", "spark-1", Path, "test", CancellationToken.None));
        Publish(withLink: false);
        var noLink = await Assert.ThrowsAsync<SettingsConflictException>(() => _copier.StartAsync("spark-1", "spark-2", Path, "test", CancellationToken.None));
        var fields = await Assert.ThrowsAsync<ValidationFailedException>(() => _copier.StartAsync("spark-1\n", "nowhere", "models/x", "test", CancellationToken.None));

        Assert.Contains("spark-2 has 3.7 TB free under /home/demo/models; the copy needs 4.0 TB", noRoom.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing to copy from spark-2", nothing.Message, StringComparison.Ordinal);
        Assert.Contains("No Spark has launchCluster settings with two nodes", noLink.Message, StringComparison.Ordinal);
        Assert.Equal(["from", "to", "path"], fields.Errors.Select(e => e.Field));
        Assert.Null(_worker.Disk.Usage(Path));
        Assert.Empty(_copier.All);
    }

    [Theory]
    [InlineData("10.0.0.2", "/m/ft/", "10.0.0.2:/m/ft/")]
    [InlineData("spark-2.link", "/m/ft", "spark-2.link:/m/ft/")]
    [InlineData("fd00::2", "/m/ft", "[fd00::2]:/m/ft/")]
    public void TheCopyIsOneRsync_ContentsToContents_NothingDeleted(string host, string path, string target)
    {
        var argv = DockerCommands.CopyDirectory(path, host, path);

        Assert.Equal(["rsync", "--archive", "--partial", "--mkpath", "--rsh=ssh -o BatchMode=yes", "--", "/m/ft/", target], argv);
        Assert.DoesNotContain(argv, a => a.StartsWith("--delete", StringComparison.Ordinal));
    }

    public async ValueTask DisposeAsync()
    {
        _copier.Dispose();
        await _head.DisposeAsync();
        await _worker.DisposeAsync();
    }
}
