using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Qdrant.Client.Grpc;
using SparkControl.Core.Audit;
using SparkControl.Core.Hosts;
using SparkControl.Core.Secrets;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Vectors;
using SparkControl.Core.Vectors.Snapshots;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Core;

/// <summary>
/// Scheduled Qdrant snapshots on a fake clock against the Sim's Qdrant over real sockets (gRPC and REST): slots,
/// retention, a corrupted download, a full disk, and restore.
/// </summary>
public sealed class QdrantSnapshotsTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 12, 3, 1, 0, 0, TimeSpan.Zero);
    private static readonly AuditActor Operator = new("olga", "127.0.0.1");

    private readonly FakeTimeProvider _time = new(Start);
    private readonly TempDirectory _data = new("sc-data");
    private TestQdrant _qdrant = null!;
    private ServiceProvider _services = null!;
    private ServiceDefinition _service = null!;
    private QdrantOptions _options = new();

    private QdrantSnapshots Snapshots => _services.GetRequiredService<QdrantSnapshots>();

    private SnapshotScheduler Scheduler => _services.GetRequiredService<SnapshotScheduler>();

    public async Task InitializeAsync()
    {
        _qdrant = await TestQdrant.StartAsync();
        _service = new ServiceDefinition { Spark = "spark-1", Name = "qdrant", Kind = ServiceKind.Qdrant, Url = _qdrant.Rest.ToString(), GrpcPort = _qdrant.GrpcPort };
        var fleet = new SparkFleet(_time);
        fleet.Publish(new FleetConfiguration([new SparkEntry(new SparkDefinition { Name = "spark-1", Host = "spark-1.test", User = "nvidia" }, new FakeSparkHost(), false)], [_service], false));
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton<TimeProvider>(_time);
        services.AddSingleton(new DataDirectory(_data.Path));
        services.AddSingleton(TestStores.Open(_data.Path));
        services.AddSingleton<AuditLog>();
        services.AddSingleton<SecretStore>();
        services.AddSingleton(fleet);
        services.AddSingleton<IOptionsMonitor<QdrantOptions>>(_ => new StaticOptionsMonitor<QdrantOptions>(_options));
        services.AddVectors();
        _services = services.BuildServiceProvider();
        using var client = _qdrant.Client();
        foreach (var collection in new[] { "a", "b" })
        {
            await client.CreateCollectionAsync(collection, new VectorParams { Size = 3, Distance = Distance.Cosine });
            await client.UpsertAsync(collection, [.. Enumerable.Range(1, 5).Select(i => new PointStruct { Id = (ulong)i, Vectors = new float[] { i, 1, 0 }, Payload = { ["i"] = i } })]);
        }
    }

    public async Task DisposeAsync()
    {
        await Scheduler.StopAsync(CancellationToken.None);
        await _services.DisposeAsync();
        await _qdrant.DisposeAsync();
        _data.Dispose();
    }

    /// <summary>Moves the fake clock to the service's next slot once the scheduler waits for it, and waits for the slot's runs to end.</summary>
    private async Task<DateTimeOffset> RunNextSlotAsync()
    {
        DateTimeOffset due = default;
        await Wait.UntilAsync(() => Scheduler.NextRunAt(_service.Key) is { } next && (due = next) > _time.GetUtcNow(), "the scheduler waits for its next slot");
        var before = Snapshots.Runs(_service).Count;
        _time.Advance(due - _time.GetUtcNow());
        await Wait.UntilAsync(
            () => Snapshots.Runs(_service).Count > before && Snapshots.Runs(_service).All(r => r.Status != SnapshotRunStatus.Running) && Scheduler.NextRunAt(_service.Key) > due,
            $"the runs of the {due:HH:mm} slot end");
        return due;
    }

    private async Task<IReadOnlyList<string>> OnQdrantAsync(string collection)
    {
        using var client = _qdrant.Client();
        return [.. (await client.ListSnapshotsAsync(collection)).Select(s => s.Name).Order(StringComparer.Ordinal)];
    }

    [Fact]
    public async Task ACronSchedule_RunsAtItsSlots_AndKeepsExactlyTheNewestN_OnQdrantAndOnDisk()
    {
        Snapshots.SaveSchedule(_service, new SnapshotSchedule { Enabled = true, Cron = "0 */6 * * *", KeepLast = 2 }, Operator);
        await Scheduler.StartAsync(CancellationToken.None);

        var slots = new List<DateTimeOffset>();
        for (var i = 0; i < 4; i++)
        {
            slots.Add(await RunNextSlotAsync());
        }

        var runs = Snapshots.Runs(_service);
        Assert.Equal([Start.AddHours(5), Start.AddHours(11), Start.AddHours(17), Start.AddHours(23)], slots);
        Assert.Equal(8, runs.Count);
        Assert.All(runs, r => Assert.Equal((SnapshotRunStatus.Done, "schedule"), (r.Status, r.Trigger)));
        foreach (var collection in new[] { "a", "b" })
        {
            var kept = runs.Where(r => r.Collection == collection && r.IsKept).ToList();
            Assert.Equal([Start.AddHours(23), Start.AddHours(17)], kept.Select(r => r.StartedAt));
            Assert.Equal(kept.Select(r => r.Name!).Order(StringComparer.Ordinal), await OnQdrantAsync(collection));
            var files = Directory.GetFiles(Path.Combine(Snapshots.Folder, "spark-1", "qdrant", collection)).Select(Path.GetFileName).Order(StringComparer.Ordinal);
            Assert.Equal(kept.Select(r => r.Name).Order(StringComparer.Ordinal), files);
            Assert.All(kept, r => Assert.Equal(r.Checksum, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(Snapshots.Folder, r.File!))))));
        }
    }

    [Fact]
    public async Task AnIntervalSchedule_KeepsTheNewestAndEveryCopyYoungerThanKeepDays()
    {
        Snapshots.SaveSchedule(_service, new SnapshotSchedule { Enabled = true, Interval = TimeSpan.FromHours(8), Scope = "a", KeepLast = 1, KeepDays = 1 }, Operator);
        await Scheduler.StartAsync(CancellationToken.None);

        for (var i = 0; i < 6; i++)
        {
            await RunNextSlotAsync();
        }

        // Slots at 9:00, 17:00, 1:00, 9:00, 17:00, 1:00 (two days): at the last, the copies of the last day are younger than a day.
        var kept = Snapshots.Runs(_service).Where(r => r.IsKept).Select(r => r.StartedAt).ToList();
        Assert.Equal(6, Snapshots.Runs(_service).Count);
        Assert.Equal([Start.AddHours(48), Start.AddHours(40), Start.AddHours(32)], kept);
        Assert.Equal(3, (await OnQdrantAsync("a")).Count);
        Assert.Empty(await OnQdrantAsync("b"));
    }

    [Fact]
    public async Task ACorruptedDownload_IsRefusedAndReported_KeepsNothing_AndTheNextSlotTriesAgain()
    {
        _qdrant.Store.SnapshotWritten = path =>
        {
            var bytes = File.ReadAllBytes(path);
            bytes[^2] ^= 0x20;
            File.WriteAllBytes(path, bytes);
        };
        Snapshots.SaveSchedule(_service, new SnapshotSchedule { Enabled = true, Interval = TimeSpan.FromHours(1), Scope = "a" }, Operator);
        await Scheduler.StartAsync(CancellationToken.None);

        await RunNextSlotAsync();
        var failed = Assert.Single(Snapshots.Runs(_service));
        var alerts = Snapshots.Failures();
        var leftOnQdrant = await OnQdrantAsync("a");
        _qdrant.Store.SnapshotWritten = null;
        await RunNextSlotAsync();

        Assert.Equal(SnapshotRunStatus.Failed, failed.Status);
        Assert.Contains("does not match Qdrant's checksum", failed.Error, StringComparison.Ordinal);
        Assert.Null(failed.File);
        Assert.Equal(failed.Id, Assert.Single(alerts).Id);
        Assert.Empty(leftOnQdrant);
        Assert.Equal(Start.AddHours(2), Snapshots.Runs(_service)[0].StartedAt);
        Assert.Equal(SnapshotRunStatus.Done, Snapshots.Runs(_service)[0].Status);
        Assert.Empty(Snapshots.Failures());
        Assert.Single(Directory.GetFiles(Path.Combine(Snapshots.Folder, "spark-1", "qdrant", "a")));
    }

    [Fact]
    public async Task AFullDisk_RefusesTheDownloadBeforeItStarts()
    {
        await using var disk = await TmpfsMount.CreateAsync(4);
        await File.WriteAllBytesAsync(Path.Combine(disk.Path, "filler"), new byte[(int)(3.5 * (1 << 20))]);
        _options = new QdrantOptions { SnapshotDirectory = disk.Path };
        await using var services = RebuildWith(_options);
        var snapshots = services.GetRequiredService<QdrantSnapshots>();

        var (runs, done) = await snapshots.StartAsync(_service, "a", "olga", CancellationToken.None);
        await done;

        var run = Assert.Single(snapshots.Runs(_service));
        Assert.Equal(runs[0].Id, run.Id);
        Assert.Equal(SnapshotRunStatus.Failed, run.Status);
        Assert.Contains("free; it was not downloaded", run.Error, StringComparison.Ordinal);
        Assert.Equal(["filler"], Directory.GetFiles(disk.Path, "*", SearchOption.AllDirectories).Select(Path.GetFileName));
        Assert.Empty(await OnQdrantAsync("a"));
    }

    [Fact]
    public async Task ARunThePanelStoppedDuring_IsRecordedFailedAtTheNextStart_ItsSnapshotDeletedOnQdrant_AndItsPartialFileRemoved()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var downloading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _qdrant.Store.BeforeDownload = cancellationToken =>
        {
            downloading.TrySetResult();
            return release.Task.WaitAsync(cancellationToken);
        };
        var (runs, done) = await Snapshots.StartAsync(_service, "a", "olga", CancellationToken.None);
        // Not just until the run has the snapshot's name: its folder is made after that, before the download is asked.
        await downloading.Task.WaitAsync(Wait.DefaultTimeout);
        var partial = Path.Combine(Snapshots.Folder, "spark-1", "qdrant", "a", Snapshots.Runs(_service)[0].Name + ".partial");
        await File.WriteAllTextAsync(partial, "half a snapshot");

        // A second panel on the same data directory starts, as one does after the first was killed mid-run.
        await using var restarted = RebuildWith(_options);
        var scheduler = restarted.GetRequiredService<SnapshotScheduler>();
        await scheduler.StartAsync(CancellationToken.None);
        var snapshots = restarted.GetRequiredService<QdrantSnapshots>();
        await Wait.UntilAsync(() => snapshots.Runs(_service)[0].Status != SnapshotRunStatus.Running, "the restarted panel ends the interrupted run");
        var run = Assert.Single(snapshots.Runs(_service));
        var leftOnQdrant = await OnQdrantAsync("a");
        await scheduler.StopAsync(CancellationToken.None);
        release.SetResult();
        await done;

        Assert.Equal((runs[0].Id, SnapshotRunStatus.Failed), (run.Id, run.Status));
        Assert.Equal("The panel stopped during this run, so it was not finished", run.Error);
        Assert.Equal(run.Id, Assert.Single(snapshots.Failures()).Id);
        Assert.Empty(leftOnQdrant);
        Assert.False(File.Exists(partial));
    }

    [Fact]
    public async Task Restore_BringsBackADeletedCollectionsPoints_AndIsRefusedForAnotherMinorVersionOrNoCopy()
    {
        var (runs, done) = await Snapshots.StartAsync(_service, "a", "olga", CancellationToken.None);
        await done;
        using var client = _qdrant.Client();
        await client.DeleteCollectionAsync("a");

        await Snapshots.RestoreAsync(_service, runs[0].Id, null, Operator, CancellationToken.None);
        await Snapshots.RestoreAsync(_service, runs[0].Id, "a-copy", Operator, CancellationToken.None);

        Assert.Equal(5ul, await client.CountAsync("a"));
        Assert.Equal(5ul, await client.CountAsync("a-copy"));
        Assert.Equal(5ul, (await client.QueryAsync("a", query: new float[] { 5, 1, 0 }, limit: 1))[0].Id.Num);
        Assert.Contains(_services.GetRequiredService<AuditLog>().Recent(10), e => e.Action == "qdrant.restore" && e.Detail!.StartsWith("a from ", StringComparison.Ordinal));

        var store = _services.GetRequiredService<SnapshotStore>();
        var done2 = Snapshots.Runs(_service)[0];
        store.Save(done2 with { QdrantVersion = "1.14.2" });
        var older = await Assert.ThrowsAsync<SnapshotRefusedException>(() => Snapshots.RestoreAsync(_service, done2.Id, null, Operator, CancellationToken.None));
        Assert.Contains("1.14.2", older.Message, StringComparison.Ordinal);
        store.Save(done2 with { File = null, Status = SnapshotRunStatus.Failed });
        await Assert.ThrowsAsync<SnapshotRefusedException>(() => Snapshots.RestoreAsync(_service, done2.Id, null, Operator, CancellationToken.None));
    }

    private ServiceProvider RebuildWith(QdrantOptions options)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton<TimeProvider>(_time);
        services.AddSingleton(new DataDirectory(_data.Path));
        services.AddSingleton(_services.GetRequiredService<SparkControlStore>());
        services.AddSingleton<AuditLog>();
        services.AddSingleton<SecretStore>();
        services.AddSingleton(_services.GetRequiredService<SparkFleet>());
        services.AddSingleton<IOptionsMonitor<QdrantOptions>>(_ => new StaticOptionsMonitor<QdrantOptions>(options));
        services.AddVectors();
        return services.BuildServiceProvider();
    }
}
