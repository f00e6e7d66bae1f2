using SparkControl.Core.Catalog;
using SparkControl.Core.Disk;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;
using SparkControl.Core.Sparks;
using SparkControl.Tests.Infrastructure;
using SparkControl.Core.Launch;

namespace SparkControl.Tests.Integration;

/// <summary>Local models, discovery and the disk-size probe through the real sshd, on fabricated HF cache and fine-tune trees.</summary>
[Collection(DockerCollection.Name)]
public sealed class CatalogOnSparkTests(DockerdFixture docker, SshdFixture sshd) : IAsyncLifetime
{
    private readonly TempDirectory _tree = new("sc-tree");
    private SparkBin _bin = null!;
    private SshTestSpark _spark = null!;
    private DockerSparkHost _host = null!;
    private SparkDefinition _definition = null!;

    private string Models => _tree.File("models");
    private string HfCache => _tree.File("hf");

    public async Task InitializeAsync()
    {
        _bin = new SparkBin(docker);
        _spark = new SshTestSpark(sshd, pathPrefix: [_bin.Path]);
        _definition = _spark.Definition with { ModelRoots = [Models], HfCachePath = HfCache };
        _host = _spark.CreateHost(_definition);
        await BuildTreeAsync();
    }

    /// <summary>
    /// Two repos in the HF cache whose snapshots are symlinks to blobs, sharing one blob (as newer hubs do), and three
    /// fine-tune outputs: a full model, a PEFT adapter and a checkpoint without weights; plus a symlink that leads out.
    /// </summary>
    private async Task BuildTreeAsync()
    {
        var shared = new byte[300_000];
        foreach (var (repo, own) in new[] { ("models--org--alpha", 1_000_000), ("models--org--beta", 2_000_000) })
        {
            var folder = Path.Combine(HfCache, "hub", repo);
            Directory.CreateDirectory(Path.Combine(folder, "blobs"));
            Directory.CreateDirectory(Path.Combine(folder, "snapshots", "abc123"));
            await File.WriteAllBytesAsync(Path.Combine(folder, "blobs", "own"), new byte[own]);
            File.CreateSymbolicLink(Path.Combine(folder, "snapshots", "abc123", "model.safetensors"), "../../blobs/own");
        }

        // The shared blob: a real file in one repo, hard-linked into the other (one inode, counted once per du).
        await File.WriteAllBytesAsync(Path.Combine(HfCache, "hub", "models--org--alpha", "blobs", "shared"), shared);
        await ProcessRunner.RunAsync("/bin/ln", [Path.Combine(HfCache, "hub", "models--org--alpha", "blobs", "shared"), Path.Combine(HfCache, "hub", "models--org--beta", "blobs", "shared")]);

        Directory.CreateDirectory(Path.Combine(Models, "support-ft"));
        foreach (var file in new[] { "config.json", "tokenizer.json", "tokenizer_config.json" })
        {
            await File.WriteAllTextAsync(Path.Combine(Models, "support-ft", file), "{}");
        }

        await File.WriteAllBytesAsync(Path.Combine(Models, "support-ft", "model.safetensors"), new byte[500_000]);
        Directory.CreateDirectory(Path.Combine(Models, "team", "legal-lora"));
        await File.WriteAllTextAsync(Path.Combine(Models, "team", "legal-lora", "adapter_config.json"), "{}");
        await File.WriteAllBytesAsync(Path.Combine(Models, "team", "legal-lora", "adapter_model.safetensors"), new byte[50_000]);
        Directory.CreateDirectory(Path.Combine(Models, "checkpoint-1200"));
        await File.WriteAllTextAsync(Path.Combine(Models, "checkpoint-1200", "config.json"), "{}");
        await File.WriteAllBytesAsync(Path.Combine(Models, "checkpoint-1200", "optimizer.pt"), new byte[10_000]);
        Directory.CreateDirectory(_tree.File("outside"));
        File.CreateSymbolicLink(Path.Combine(Models, "escape"), _tree.File("outside"));
    }

    [Fact]
    public async Task DiskUsage_HfRepos_CountTheirBlobsThroughSymlinksOncePerRepo()
    {
        var alpha = await _host.GetDiskUsageAsync(Path.Combine(HfCache, "hub", "models--org--alpha"), CancellationToken.None);
        var beta = await _host.GetDiskUsageAsync(Path.Combine(HfCache, "hub", "models--org--beta"), CancellationToken.None);

        // Each repo: its own blob + the shared blob (counted in both, since each repo is measured by its own du) + small entries.
        Assert.InRange(alpha!.Value, 1_300_000, 1_320_000);
        Assert.InRange(beta!.Value, 2_300_000, 2_320_000);
    }

    [Fact]
    public async Task DiskSizeProbe_MeasuresEachModelOnItsSpark()
    {
        var fleet = new SparkFleet(TimeProvider.System);
        fleet.Publish(new FleetConfiguration([new SparkEntry(_definition, _host, false)], [], false));
        var catalog = new ModelCatalog(TimeProvider.System);
        var probe = new DiskSizeProbe(fleet, catalog, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<DiskSizeProbe>.Instance);
        var alpha = new ModelDefinition { Id = "alpha", DisplayName = "alpha", Source = new HuggingFaceSource("org/alpha"), ServedName = "alpha", DownloadSizeGiB = 0.0012 };
        var absent = new ModelDefinition { Id = "gamma", DisplayName = "gamma", Source = new HuggingFaceSource("org/gamma"), ServedName = "gamma" };
        var local = new ModelDefinition { Id = "ft", DisplayName = "ft", Source = new LocalSource(_definition.Name, Path.Combine(Models, "support-ft")), ServedName = "ft" };

        var measured = (await probe.MeasureAsync(alpha, CancellationToken.None)).Single();
        var missing = (await probe.MeasureAsync(absent, CancellationToken.None)).Single();
        var ownDirectory = (await probe.MeasureAsync(local, CancellationToken.None)).Single();

        Assert.True(measured.Present);
        Assert.False(measured.Partial);
        Assert.InRange(measured.Bytes!.Value, 1_300_000, 1_320_000);
        Assert.True(measured.FreeBytes > 0);
        Assert.False(missing.Present);
        Assert.Null(missing.Error);
        Assert.True(missing.FreeBytes > 0);
        Assert.InRange(ownDirectory.Bytes!.Value, 500_000, 520_000);
    }

    [Fact]
    public async Task Inspect_FullModel_AdapterIncompleteOutsideAndMissing()
    {
        var full = await LocalModelInspector.InspectAsync(_host, _definition, Path.Combine(Models, "support-ft"), CancellationToken.None);
        var adapter = await LocalModelInspector.InspectAsync(_host, _definition, Path.Combine(Models, "team", "legal-lora"), CancellationToken.None);
        var incomplete = await LocalModelInspector.InspectAsync(_host, _definition, Path.Combine(Models, "checkpoint-1200"), CancellationToken.None);
        var escape = await LocalModelInspector.InspectAsync(_host, _definition, Path.Combine(Models, "escape"), CancellationToken.None);
        var missing = await LocalModelInspector.InspectAsync(_host, _definition, Path.Combine(Models, "nope"), CancellationToken.None);
        var notUnderRoot = await LocalModelInspector.InspectAsync(_host, _definition, "/etc", CancellationToken.None);

        Assert.True(full.CanRegister);
        Assert.InRange(full.SizeBytes!.Value, 500_000, 520_000);
        Assert.Equal(LocalModelKind.Adapter, adapter.Kind);
        Assert.Contains("--enable-lora", adapter.Problems.Single(), StringComparison.Ordinal);
        Assert.Equal(LocalModelKind.Incomplete, incomplete.Kind);
        Assert.Equal(2, incomplete.Problems.Length);
        Assert.Contains("outside the allow-listed roots", escape.Problems.Single(), StringComparison.Ordinal);
        Assert.Contains("does not exist", missing.Problems.Single(), StringComparison.Ordinal);
        Assert.Contains("not under an allow-listed root", notUnderRoot.Problems.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Discovery_FindsTheThreeKindsWithTheirSizes()
    {
        var registered = new CatalogSnapshot([new ModelDefinition { Id = "ft", DisplayName = "ft", Source = new LocalSource(_definition.Name, Path.Combine(Models, "support-ft")), ServedName = "ft" }], []);

        var found = await ModelDiscovery.ScanAsync(_host, _definition, registered, CancellationToken.None);

        Assert.Equal(3, found.Count);
        Assert.Equal("ft", found.Single(f => f.Path.EndsWith("support-ft", StringComparison.Ordinal)).RegisteredAs);
        Assert.Equal(LocalModelKind.Adapter, found.Single(f => f.Path.EndsWith("legal-lora", StringComparison.Ordinal)).Kind);
        Assert.Equal(LocalModelKind.Incomplete, found.Single(f => f.Path.EndsWith("checkpoint-1200", StringComparison.Ordinal)).Kind);
        Assert.All(found, f => Assert.True(f.SizeBytes > 0));
    }

    [Fact]
    public async Task CommandPreview_EqualsWhatDockerSparkHostExecutes()
    {
        var recording = new RecordingShell(_spark.Shell);
        var host = new DockerSparkHost(_definition with { ExtraMounts = [.. DockerdFixture.HostRuntimeMounts], VllmImage = DockerdFixture.BaseImage, Gpus = "none" }, recording, _spark.Secrets, TimeProvider.System, TimeSpan.FromSeconds(1));
        var entry = new SparkEntry(host.Definition, host, false);
        var model = new ModelDefinition
        {
            Id = "ft",
            DisplayName = "ft",
            Source = new LocalSource(_definition.Name, Path.Combine(Models, "support-ft")),
            ServedName = "support-ft",
            Port = Tools.FreePort(),
            Flags = new VllmFlags { GpuMemoryUtilization = 0.4, ExtraArgs = ["--max-num-batched-tokens", "4096"] },
        };
        var planner = new LaunchPlanner(_spark.Secrets);

        var preview = await planner.PlanAsync(model, entry, CancellationToken.None);
        var id = await host.RunContainerAsync(preview.Container!, CancellationToken.None);
        var executed = recording.Commands.Single(c => c.Argv.Count > 2 && c.Argv[1] == "run");
        var running = await docker.DockerAsync(["inspect", "-f", "{{.Name}} {{.Config.Labels}}", id]);
        await docker.DockerAsync(["rm", "-f", id]);

        Assert.Equal(preview.Argv, executed.Argv);
        Assert.StartsWith("/sparkcontrol-llm map[", running.Stdout, StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        await _spark.DisposeAsync();
        _bin.Dispose();
        _tree.Dispose();
    }
}

/// <summary>Passes commands to a real shell and remembers each one.</summary>
public sealed class RecordingShell(IRemoteShell inner) : IRemoteShell
{
    private readonly List<RemoteCommand> _commands = [];

    public string Spark => inner.Spark;

    public IReadOnlyList<RemoteCommand> Commands
    {
        get
        {
            lock (_commands)
            {
                return [.. _commands];
            }
        }
    }

    public Task<CommandResult> RunAsync(RemoteCommand command, CancellationToken cancellationToken)
    {
        lock (_commands)
        {
            _commands.Add(command);
        }

        return inner.RunAsync(command, cancellationToken);
    }

    public IAsyncEnumerable<string> StreamAsync(RemoteCommand command, CancellationToken cancellationToken)
    {
        lock (_commands)
        {
            _commands.Add(command);
        }

        return inner.StreamAsync(command, cancellationToken);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
