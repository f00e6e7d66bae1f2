using System.Globalization;
using System.Net;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Integration;

/// <summary>launch-cluster.sh semantics through the stand-in, over the real sshd and dockerd.</summary>
[Collection(DockerCollection.Name)]
public sealed class LaunchClusterTests(DockerdFixture docker, SshdFixture sshd) : IAsyncLifetime
{
    private SparkBin _bin = null!;
    private SshTestSpark _spark = null!;
    private DockerSparkHost _host = null!;
    private TempDirectory _hfCache = null!;

    public Task InitializeAsync()
    {
        _bin = new SparkBin(docker);
        _hfCache = new TempDirectory("sc-hf");
        _spark = new SshTestSpark(sshd, pathPrefix: [_bin.Path]);
        _host = _spark.CreateHost();
        return Task.CompletedTask;
    }

    private LaunchClusterSettings Settings(params string[] nodes) => new()
    {
        Script = _bin.File("launch-cluster.sh"),
        Nodes = [.. nodes],
        ContainerName = $"vllm_node_{Guid.NewGuid().ToString("N")[..6]}",
        Image = DockerdFixture.BaseImage,
    };

    private LaunchClusterStart Start(int port) => new()
    {
        ServeCommand = ["vllm", "serve", "Qwen/Qwen3-8B", "--served-model-name", "qwen3-8b", "--port", port.ToString(CultureInfo.InvariantCulture)],
        HfCachePath = _hfCache.Path,
        Volumes = [.. DockerdFixture.HostRuntimeMounts.Select(m => m.Split(':')).Select(p => new BindMount(p[0], p[1], p.Length > 2))],
        Environment = [KeyValuePair.Create("SPARKCONTROL_SIM_LOAD_SECONDS", "1")],
    };

    private static async Task<bool> AnswersAsync(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            return (await http.GetAsync($"http://127.0.0.1:{port}/health")).StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }

    [Fact]
    public async Task Solo_StartStatusReuseAndStopWithRm()
    {
        var settings = Settings();
        var port = Tools.FreePort();

        await _host.LaunchClusterStartAsync(ClusterLaunch.Of(settings, Start(port)), CancellationToken.None);
        await Wait.UntilAsync(() => AnswersAsync(port), "the model served through launch-cluster.sh answers", Wait.ContainerTimeout);
        var status = await _host.LaunchClusterStatusAsync(settings, CancellationToken.None);
        var firstId = (await docker.DockerAsync(["inspect", "-f", "{{.Id}}", settings.ContainerName])).Stdout.Trim();

        // The script's own semantics: a start while the container runs reuses it instead of starting another.
        var again = await _spark.Shell.RunAsync(RemoteCommand.Action([.. LaunchClusterCommands.Status(settings).SkipLast(1), "start"]), CancellationToken.None);
        var secondId = (await docker.DockerAsync(["inspect", "-f", "{{.Id}}", settings.ContainerName])).Stdout.Trim();

        await _host.LaunchClusterStopAsync(settings, CancellationToken.None);
        var afterStop = await docker.DockerAsync(["ps", "-a", "--filter", $"name=^{settings.ContainerName}$", "--format", "{{.Names}}"]);
        var stoppedStatus = await _host.LaunchClusterStatusAsync(settings, CancellationToken.None);

        Assert.True(status.AnyRunning);
        Assert.Contains("RUNNING", status.Report, StringComparison.Ordinal);
        Assert.Contains("reusing it", again.Stdout, StringComparison.Ordinal);
        Assert.Equal(firstId, secondId);
        Assert.Equal(string.Empty, afterStop.Stdout.Trim());
        Assert.False(stoppedStatus.AnyRunning);
        Assert.False(await AnswersAsync(port));
    }

    [Fact]
    public async Task Start_WhileAnotherModelRuns_StopsItFirst()
    {
        var settings = Settings();
        var first = Tools.FreePort();
        var second = Tools.FreePort();
        await _host.LaunchClusterStartAsync(ClusterLaunch.Of(settings, Start(first)), CancellationToken.None);
        await Wait.UntilAsync(() => AnswersAsync(first), "the first model answers", Wait.ContainerTimeout);

        await _host.LaunchClusterStartAsync(ClusterLaunch.Of(settings, Start(second)), CancellationToken.None);
        await Wait.UntilAsync(() => AnswersAsync(second), "the second model answers", Wait.ContainerTimeout);

        Assert.False(await AnswersAsync(first));
        await _host.LaunchClusterStopAsync(settings, CancellationToken.None);
    }

    [Fact]
    public async Task TwoNodes_WorkerReachedOverItsOwnSshd_StartsAndStopsOnBoth()
    {
        var worker = new SshdFixture(sessionPathFromBin: true);
        await worker.InitializeAsync();
        var workerDocker = new DockerdFixture();
        await workerDocker.InitializeAsync();
        try
        {
            worker.AddScript("docker", workerDocker.WrapperScript);
            // The head reaches the worker with plain `ssh sc-worker`, as launch-cluster.sh does; this config says how.
            var config = _bin.File("ssh_config");
            await File.WriteAllTextAsync(config, $"""
                Host sc-worker
                  HostName 127.0.0.1
                  Port {worker.Port}
                  User {worker.User}
                  IdentityFile {worker.ClientKeyPath}
                  StrictHostKeyChecking no
                  UserKnownHostsFile /dev/null
                  LogLevel ERROR
                """);
            SshdFixture.WriteScript(_bin.File("ssh"), $"#!/bin/sh\nexec /usr/bin/ssh -F {config} \"$@\"\n");
            var settings = Settings("127.0.0.1", "sc-worker");
            var port = Tools.FreePort();
            // A local fine-tune that spans both Sparks is mounted read-only by the path they share, on every node.
            using var fineTune = new TempDirectory("sc-ft-both");
            var start = Start(port);
            start = start with { Volumes = [.. start.Volumes, new BindMount(fineTune.Path, fineTune.Path, ReadOnly: true)] };

            await _host.LaunchClusterStartAsync(ClusterLaunch.Of(settings, start), CancellationToken.None);
            await Wait.UntilAsync(() => AnswersAsync(port), "the head serves the model", Wait.ContainerTimeout);
            await Wait.UntilAsync(async () => (await workerDocker.DockerAsync(["logs", settings.ContainerName], check: false)).Stdout.Contains("headless mode", StringComparison.Ordinal),
                "the worker runs its headless shard", Wait.ContainerTimeout);
            var status = await _host.LaunchClusterStatusAsync(settings, CancellationToken.None);
            var mountFormat = $"{{{{range .Mounts}}}}{{{{if eq .Destination \"{fineTune.Path}\"}}}}{{{{.Source}}}} {{{{.RW}}}}{{{{end}}}}{{{{end}}}}";
            var headMount = (await docker.DockerAsync(["inspect", "-f", mountFormat, settings.ContainerName])).Stdout.Trim();
            var workerMount = (await workerDocker.DockerAsync(["inspect", "-f", mountFormat, settings.ContainerName])).Stdout.Trim();

            await _host.LaunchClusterStopAsync(settings, CancellationToken.None);
            var headAfter = await docker.DockerAsync(["ps", "-a", "--filter", $"name=^{settings.ContainerName}$", "-q"]);
            var workerAfter = await workerDocker.DockerAsync(["ps", "-a", "--filter", $"name=^{settings.ContainerName}$", "-q"]);

            Assert.Equal($"{fineTune.Path} false", headMount);
            Assert.Equal($"{fineTune.Path} false", workerMount);
            Assert.True(status.RunningByNode["127.0.0.1"]);
            Assert.True(status.RunningByNode["sc-worker"]);
            Assert.Equal(string.Empty, headAfter.Stdout.Trim());
            Assert.Equal(string.Empty, workerAfter.Stdout.Trim());
        }
        finally
        {
            await workerDocker.DisposeAsync();
            await worker.DisposeAsync();
        }
    }

    public async Task DisposeAsync()
    {
        await _spark.DisposeAsync();
        _bin.Dispose();
        _hfCache.Dispose();
    }
}
