using System.Collections.Immutable;
using System.Globalization;
using SparkControl.Core.Catalog;
using SparkControl.Core.Hosts;
using SparkControl.Tests.Infrastructure;
using SparkControl.Core.Launch;

namespace SparkControl.Tests.Integration;

/// <summary><see cref="DockerSparkHost"/> through the real sshd and the real dockerd, with the simulator's image.</summary>
[Collection(DockerCollection.Name)]
public sealed class DockerSparkHostTests(DockerdFixture docker, SshdFixture sshd) : IAsyncLifetime
{
    private SparkBin _bin = null!;
    private SshTestSpark _spark = null!;
    private DockerSparkHost _host = null!;

    public Task InitializeAsync()
    {
        _bin = new SparkBin(docker);
        _spark = new SshTestSpark(sshd, pathPrefix: [_bin.Path]);
        _host = _spark.CreateHost(_spark.Definition with { ExtraMounts = [.. DockerdFixture.HostRuntimeMounts], VllmImage = DockerdFixture.BaseImage });
        return Task.CompletedTask;
    }

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    private ContainerLaunchSpec ModelSpec(string name, int port, params (string Key, string Value)[] environment)
    {
        var model = new ModelDefinition { Id = "qwen3-8b", DisplayName = "Qwen3 8B", Source = new HuggingFaceSource("Qwen/Qwen3-8B"), ServedName = "qwen3-8b", Port = port };
        var spec = LaunchSpecs.Vllm(model, _host.Definition, "/tmp");
        return spec with
        {
            Name = name,
            Environment = spec.Environment.AddRange(environment.Select(e => KeyValuePair.Create(e.Key, e.Value))),
        };
    }

    [Fact]
    public async Task Container_StartedListedInspectedLoggedFollowedAndStopped()
    {
        var name = Unique("model");
        var port = Tools.FreePort();
        var spec = ModelSpec(name, port, ("SPARKCONTROL_SIM_LOAD_SECONDS", "1"));
        Assert.Null(spec.Gpus);

        var id = await _host.RunContainerAsync(ContainerLaunch.Of(spec), CancellationToken.None);
        var listed = (await _host.ListContainersAsync(CancellationToken.None)).Single(c => c.Name == name);
        using var follow = new CancellationTokenSource(Wait.ContainerTimeout);
        var followed = new List<string>();
        var following = Task.Run(async () =>
        {
            await foreach (var line in _host.FollowLogsAsync(name, new LogQuery(null), follow.Token))
            {
                lock (followed)
                {
                    followed.Add(line);
                }
            }
        });
        await Wait.UntilAsync(() =>
        {
            lock (followed)
            {
                return followed.Contains("INFO:     Application startup complete.");
            }
        }, "the follow stream shows the model server starting", Wait.ContainerTimeout);
        var info = await _host.InspectContainerAsync(name, CancellationToken.None);
        var tail = await _host.GetLogsAsync(name, LogQuery.Last(3), CancellationToken.None);

        await _host.StopContainerAsync(name, TimeSpan.FromSeconds(10), CancellationToken.None);
        await following.WaitAsync(TimeSpan.FromSeconds(30));
        var stopped = await _host.InspectContainerAsync(name, CancellationToken.None);
        await _host.RemoveContainerAsync(name, CancellationToken.None);

        Assert.StartsWith(listed.Id, id, StringComparison.Ordinal);
        Assert.Equal(ContainerStatus.Running, listed.State);
        Assert.Equal("model", listed.Labels[ContainerLabels.Role]);
        Assert.Equal(port.ToString(CultureInfo.InvariantCulture), listed.Labels[ContainerLabels.Port]);
        Assert.True(info!.Running);
        Assert.Equal(DockerdFixture.BaseImage, info.Image);
        Assert.NotNull(info.StartedAt);
        Assert.Equal("qwen3-8b", info.Labels[ContainerLabels.ServedName]);
        Assert.Equal("INFO:     Application startup complete.", tail[^1]);
        Assert.Contains(followed, l => l.Contains($"Starting vLLM API server 0 on http://0.0.0.0:{port}", StringComparison.Ordinal));
        Assert.Equal(ContainerStatus.Exited, stopped!.Status);
        Assert.Equal(0, stopped.ExitCode);
        Assert.Null(await _host.InspectContainerAsync(name, CancellationToken.None));
    }

    [Fact]
    public async Task Container_OverItsMemoryLimit_IsOomKilledAndReadBack()
    {
        var name = Unique("oom");
        var spec = ModelSpec(name, Tools.FreePort(), ("SPARKCONTROL_SIM_FAIL", "oom"), ("SPARKCONTROL_SIM_LOAD_SECONDS", "0.2"), ("SPARKCONTROL_SIM_OOM_LIMIT_MB", "4096"))
            with { MemoryLimitBytes = 160L << 20, MemorySwapLimitBytes = 160L << 20 };

        await _host.RunContainerAsync(ContainerLaunch.Of(spec), CancellationToken.None);
        ContainerInfo? info = null;
        await Wait.UntilAsync(async () => (info = await _host.InspectContainerAsync(name, CancellationToken.None))!.Status == ContainerStatus.Exited, "the container was killed", Wait.ContainerTimeout);
        // dockerd records the kernel's OOM event apart from the exit, so on a busy machine an inspect can see the exit
        // first: read it back until the flag arrives. A container that ended any other way never gets it, and fails here.
        await Wait.UntilAsync(async () => (info = await _host.InspectContainerAsync(name, CancellationToken.None))!.OomKilled, "dockerd records the OOM kill", TimeSpan.FromSeconds(30));

        Assert.True(info!.OomKilled);
        Assert.Equal(137, info.ExitCode);
        Assert.Equal(160L << 20, info.MemoryLimitBytes);
        Assert.Equal(160L << 20, info.MemorySwapLimitBytes);
    }

    [Fact]
    public async Task UpdateMemoryLimit_RunningContainer_IsReadBackByInspect()
    {
        var name = Unique("limits");
        await _host.RunContainerAsync(ContainerLaunch.Of(new ContainerLaunchSpec
        {
            Name = name,
            Image = DockerdFixture.BaseImage,
            Gpus = null,
            HostIpc = false,
            Mounts = [new BindMount("/usr", "/usr", true)],
            Entrypoint = "sleep",
            Command = ["600"],
        }), CancellationToken.None);

        await _host.UpdateMemoryLimitAsync(name, 256L << 20, 256L << 20, CancellationToken.None);
        var info = await _host.InspectContainerAsync(name, CancellationToken.None);
        var raw = await docker.DockerAsync(["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}", name]);

        Assert.Equal(256L << 20, info!.MemoryLimitBytes);
        Assert.Equal(256L << 20, info.MemorySwapLimitBytes);
        Assert.Equal($"{256L << 20} {256L << 20}", raw.Stdout.Trim());
        await docker.DockerAsync(["rm", "-f", name]);
    }

    [Fact]
    public async Task Files_ExistRealpathListReadDuAndDf()
    {
        using var tree = new TempDirectory("sc-files");
        Directory.CreateDirectory(tree.File("models/my-ft"));
        await File.WriteAllTextAsync(tree.File("models/my-ft/config.json"), "{\"model_type\":\"llama\"}");
        await File.WriteAllBytesAsync(tree.File("models/my-ft/model.safetensors"), new byte[100_000]);
        File.CreateSymbolicLink(tree.File("link"), tree.File("models/my-ft"));

        Assert.True(await _host.PathExistsAsync(tree.File("models/my-ft/config.json"), CancellationToken.None));
        Assert.False(await _host.PathExistsAsync(tree.File("nope"), CancellationToken.None));
        Assert.Equal(tree.File("models/my-ft"), await _host.RealPathAsync(tree.File("link"), CancellationToken.None));
        Assert.Null(await _host.RealPathAsync(tree.File("nope"), CancellationToken.None));
        var entries = await _host.ListDirectoryAsync(tree.File("models/my-ft"), CancellationToken.None);
        Assert.Equal(["config.json", "model.safetensors"], entries.Select(e => e.Name).Order(StringComparer.Ordinal));
        Assert.Equal(100_000, entries.Single(e => e.Name == "model.safetensors").SizeBytes);
        Assert.Empty(await _host.ListDirectoryAsync(tree.File("nope"), CancellationToken.None));
        Assert.Equal("{\"model_type\":\"llama\"}", await _host.ReadFileAsync(tree.File("models/my-ft/config.json"), 4096, CancellationToken.None));
        Assert.InRange((await _host.GetDiskUsageAsync(tree.File("link"), CancellationToken.None))!.Value, 100_000, 120_000);
        Assert.Null(await _host.GetDiskUsageAsync(tree.File("nope"), CancellationToken.None));
        var space = await _host.GetDiskSpaceAsync(tree.Path, CancellationToken.None);
        Assert.True(space!.TotalBytes > space.AvailableBytes);
        Assert.StartsWith("/", space.MountPoint, StringComparison.Ordinal);
        Assert.Equal(sshd.Home + "/x", await _host.ExpandHomeAsync("~/x", CancellationToken.None));
    }

    [Fact]
    public async Task MemoryInfo_ComesFromProcMeminfo()
    {
        var memory = await _host.GetMemoryInfoAsync(CancellationToken.None);
        var local = SparkControl.Core.Hosts.Meminfo.Parse(await File.ReadAllTextAsync("/proc/meminfo"));

        Assert.Equal(local.TotalBytes, memory.TotalBytes);
        Assert.InRange(memory.AvailableBytes, 1, memory.TotalBytes);
    }

    [Fact]
    public async Task Gpu_ReplayedH100Timeline_IsParsedIntoSamples()
    {
        _bin.ReplayNvidiaSmi("h100/timeline-solid.csv", "timestamp,utilization.gpu,memory.used,power.draw", "h100/compute-apps-noheader.csv");
        var expected = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "TestData", "nvidia-smi", "h100", "timeline-solid.csv"))
            .Select(l => NvidiaSmi.ParseSample(l, ["timestamp", "utilization.gpu", "memory.used", "power.draw"])!).ToList();

        var samples = new List<GpuSample>();
        await foreach (var sample in _host.WatchGpuAsync(CancellationToken.None))
        {
            samples.Add(sample);
        }

        var apps = await _host.GetComputeAppsAsync(CancellationToken.None);
        Assert.Equal(expected.Count, samples.Count);
        Assert.Equal(expected.Select(e => (e.Timestamp, e.UtilizationPercent, e.PowerDrawWatts)), samples.Select(s => (s.Timestamp, s.UtilizationPercent, s.PowerDrawWatts)));
        Assert.All(samples, s => Assert.Null(s.TemperatureCelsius));
        Assert.Equal(417, Assert.Single(apps).Pid);
    }

    [Fact]
    public async Task Gpu_Gb10StyleOutput_ParsesWithNullMemory()
    {
        using var capture = new TempDirectory();
        await File.WriteAllTextAsync(_bin.File("nvidia-smi.timeline"), "2026/11/26 10:00:00.000, 0, 87, [N/A], [N/A], 41.20, 52\n2026/11/26 10:00:01.000, 0, 12, [N/A], [N/A], 9.80, 50\n");
        await File.WriteAllTextAsync(_bin.File("nvidia-smi.fields"), "timestamp,index,utilization.gpu,memory.used,memory.total,power.draw,temperature.gpu");

        var samples = new List<GpuSample>();
        await foreach (var sample in _host.WatchGpuAsync(CancellationToken.None))
        {
            samples.Add(sample);
        }

        Assert.Equal([87.0, 12.0], samples.Select(s => s.UtilizationPercent!.Value));
        Assert.All(samples, s => Assert.Null(s.MemoryUsedMiB));
        Assert.All(samples, s => Assert.Null(s.MemoryTotalMiB));
    }

    [Fact]
    public async Task SecretsEnvFile_IsWrittenWith0600AndNeverOnACommandLine()
    {
        var token = $"hf_{Guid.NewGuid():N}";

        var path = await _host.WriteSecretsEnvFileAsync(new Dictionary<string, string> { ["HF_TOKEN"] = token }, CancellationToken.None);

        Assert.Equal($"HF_TOKEN={token}\n", await File.ReadAllTextAsync(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        await Assert.ThrowsAsync<ArgumentException>(() => _host.WriteSecretsEnvFileAsync(new Dictionary<string, string> { ["X"] = "a\nEVIL=1" }, CancellationToken.None));
    }

    [Fact]
    public async Task SecretsEnvFile_RemovedAfterTheLaunch_TheContainerKeepsItsValues_AndRestarts()
    {
        var name = Unique("nim");
        var key = $"nvapi-{Guid.NewGuid():N}";
        var path = await _host.WriteSecretsEnvFileAsync(new Dictionary<string, string> { ["NGC_API_KEY"] = key }, CancellationToken.None);
        await _host.RunContainerAsync(ContainerLaunch.Of(ModelSpec(name, Tools.FreePort(), ("SPARKCONTROL_SIM_LOAD_SECONDS", "1")) with { EnvFile = path }), CancellationToken.None);

        await _host.RemoveSecretsEnvFileAsync(CancellationToken.None);
        await _host.RemoveSecretsEnvFileAsync(CancellationToken.None);
        await docker.DockerAsync(["restart", "-t", "1", name]);

        // docker run read the file into the container's configuration: the file can go, the container keeps working.
        Assert.False(File.Exists(path));
        Assert.Contains($"NGC_API_KEY={key}", (await docker.DockerAsync(["inspect", "-f", "{{json .Config.Env}}", name])).Stdout, StringComparison.Ordinal);
        Assert.Equal(ContainerStatus.Running, (await _host.InspectContainerAsync(name, CancellationToken.None))!.Status);
        await docker.DockerAsync(["rm", "-f", name]);
    }

    [Fact]
    public async Task HostFacts_AreRead()
    {
        var facts = await _host.GetHostFactsAsync(CancellationToken.None);
        var dockerVersion = (await docker.DockerAsync(["version", "--format", "{{.Server.Version}}"])).Stdout.Trim();
        var hostname = (await ProcessRunner.RunAsync("/bin/sh", ["-c", "hostname 2>/dev/null || cat /proc/sys/kernel/hostname"])).Stdout.Trim();

        Assert.Equal(hostname, facts.Hostname);
        Assert.Contains("Debian", facts.Os, StringComparison.Ordinal);
        Assert.Equal(dockerVersion, facts.DockerVersion);
        Assert.True(facts.Uptime > TimeSpan.Zero);
    }

    public async Task DisposeAsync()
    {
        await _spark.DisposeAsync();
        _bin.Dispose();
    }
}
