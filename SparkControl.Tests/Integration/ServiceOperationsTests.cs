using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Api;

namespace SparkControl.Tests.Integration;

/// <summary>
/// The services and host APIs of the running panel against a Spark that is a real sshd and a real dockerd: logs
/// followed live and redacted, memory caps read back with <c>docker inspect</c>, host actions through the stand-ins.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class ServiceOperationsTests(DockerdFixture docker, SshdFixture sshd) : IAsyncLifetime
{
    private const string ApiKey = "sk-test-0123456789abcdefghijKLMN";
    private const long Mib = 1L << 20;

    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private readonly List<string> _containers = [];
    private SparkBin _bin = null!;
    private TempDirectory _data = null!;
    private SparkControlApp? _app;
    private HttpClient _client = null!;

    private string Llm => $"llm-{_suffix}";

    public Task InitializeAsync()
    {
        _bin = new SparkBin(docker);
        _data = new TempDirectory("sc-data");
        var key = sshd.HostPublicKey.Split(' ');
        File.WriteAllText(Path.Combine(_data.Path, HostKeyStore.FileName), $"[127.0.0.1]:{sshd.Port} {key[0]} {key[1]}\n");
        return Task.CompletedTask;
    }

    private async Task StartAppAsync(LaunchClusterSettings? cluster = null, params ServiceDefinition[] services)
    {
        var spark = new SparkDefinition
        {
            Name = "spark-1",
            Host = "127.0.0.1",
            Port = sshd.Port,
            User = sshd.User,
            KeyPath = sshd.InstallClientKey(_data.Path),
            PathPrefix = [_bin.Path],
            Gpus = "none",
            LaunchCluster = cluster,
        };
        await File.WriteAllTextAsync(Path.Combine(_data.Path, SparksYaml.FileName), SparksYaml.Write([spark]));
        await File.WriteAllTextAsync(Path.Combine(_data.Path, ServicesYaml.FileName), ServicesYaml.Write(services));
        _app = await SparkControlApp.StartAsync(SparkOnDocker.AppSettings(), _data.Path);
        _client = _app.CreateClient();
    }

    private ServiceDefinition LlmService(int port, long? limit = null) =>
        new() { Spark = "spark-1", Name = "llm", Kind = ServiceKind.Other, Container = Llm, Port = port, HealthPath = "/health", MemoryLimitBytes = limit };

    /// <summary>The simulator's <c>vllm serve</c> in a container, started with an API key it prints in its log as vLLM does.</summary>
    private async Task<int> RunModelServerAsync(string name, params string[] extra)
    {
        var port = Tools.FreePort();
        _containers.Add(name);
        await docker.DockerAsync([
            "run", "-d", "--name", name, "--network", "host", .. DockerdFixture.HostRuntimeMounts.SelectMany(m => new[] { "-v", m }),
            "-e", "SPARKCONTROL_SIM_LOAD_SECONDS=1", .. extra,
            "--entrypoint", "vllm", DockerdFixture.BaseImage,
            "serve", "Qwen/Qwen3-8B", "--served-model-name", "qwen3-8b", "--port", port.ToString(CultureInfo.InvariantCulture), "--api-key", ApiKey]);
        return port;
    }

    /// <summary>A container that idles and ends at once on SIGTERM, so a stop takes no grace period.</summary>
    private async Task RunIdleAsync(string name, params string[] labels)
    {
        _containers.Add(name);
        await docker.DockerAsync([
            "run", "-d", "--name", name, "--network", "host", "-v", "/usr:/usr:ro", .. labels.SelectMany(l => new[] { "--label", l }),
            "--entrypoint", "/usr/bin/sh", DockerdFixture.BaseImage, "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]);
    }

    /// <summary>The container's state and last log lines, as docker has them, for a failure message.</summary>
    private async Task<string> ContainerStateAsync(string name)
    {
        var state = await docker.DockerAsync(["inspect", "-f", "{{.State.Status}} exit {{.State.ExitCode}}", name], check: false);
        var logs = await docker.DockerAsync(["logs", "--tail", "20", name], check: false);
        return $"{name} {state.Stdout.Trim()}{state.Stderr.Trim()}; last lines: {logs.Stdout.Trim()} {logs.Stderr.Trim()}";
    }

    private async Task<bool> IsRunningAsync(string name) =>
        (await docker.DockerAsync(["inspect", "-f", "{{.State.Running}}", name], check: false)).Stdout.Trim() == "true";

    private async Task<(long Memory, long Swap)> InspectLimitsAsync(string name)
    {
        var parts = (await docker.DockerAsync(["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}", name])).Stdout.Trim().Split(' ');
        return (long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    /// <summary>POSTs and returns as soon as the headers are in, so the body can be read as it streams.</summary>
    private Task<HttpResponseMessage> PostStreamingAsync(string path) =>
        _client.SendAsync(new HttpRequestMessage(HttpMethod.Post, path), HttpCompletionOption.ResponseHeadersRead);

    /// <summary>Reads a streamed plain-text response line by line, handing each line to <paramref name="onLine"/> as it arrives.</summary>
    private static async Task<List<string>> ReadStreamAsync(HttpResponseMessage response, Func<string, Task>? onLine = null)
    {
        var lines = new List<string>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            lines.Add(line);
            if (onLine is not null)
            {
                await onLine(line);
            }
        }

        return lines;
    }

    [Fact]
    public async Task Logs_FollowedThroughTheApi_ArriveLiveRedacted_AndEndWhenTheServiceIsStopped()
    {
        var port = await RunModelServerAsync(Llm);
        await StartAppAsync(null, LlmService(port));
        using var follow = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var response = await _client.GetAsync("/api/services/spark-1/llm/logs/stream?tail=1000", HttpCompletionOption.ResponseHeadersRead, follow.Token);
        response.EnsureSuccessStatusCode();
        var lines = new List<string>();
        var reading = Task.Run(async () =>
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(follow.Token));
            while (await reader.ReadLineAsync(follow.Token) is { } line)
            {
                lock (lines)
                {
                    lines.Add(line);
                }
            }
        });
        bool Seen(string text)
        {
            lock (lines)
            {
                return lines.Any(l => l.Contains(text, StringComparison.Ordinal));
            }
        }

        await Wait.UntilAsync(() => Seen("Application startup complete."), "the followed log shows the server up", Wait.ContainerTimeout);
        using var stop = await _client.PostAsync("/api/services/spark-1/llm/stop", null);
        await Wait.UntilAsync(() => Seen("Shutting down"), "the shutdown is followed live", Wait.ContainerTimeout);
        await reading.WaitAsync(Wait.ContainerTimeout);

        Assert.Equal(HttpStatusCode.NoContent, stop.StatusCode);
        Assert.Equal("text/plain; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        var args = Assert.Single(lines, l => l.Contains("non-default args", StringComparison.Ordinal));
        Assert.Contains("'api_key': ['[REDACTED]']", args, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.Contains(ApiKey, StringComparison.Ordinal));
        Assert.False(await IsRunningAsync(Llm));
        // The raw log on the Spark does hold the key: the panel removed it on the way.
        Assert.Contains(ApiKey, (await docker.DockerAsync(["logs", Llm])).Stdout + (await docker.DockerAsync(["logs", Llm])).Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_FollowedThroughTheApi_WhoseFollowerDiesMidStream_EndCleanlyWithALineSayingWhy()
    {
        var port = await RunModelServerAsync(Llm);
        await StartAppAsync(null, LlmService(port));
        using var response = await _client.GetAsync("/api/services/spark-1/llm/logs/stream?tail=1000", HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();

        // The shared follower is the Spark's `docker logs --follow` of this container, run under this test's sshd; killed,
        // its SSH command fails. The startup line may come from the viewer's tail before the follower has started, so
        // the kill waits for the follower to be there.
        var killed = false;
        var lines = await ReadStreamAsync(response, async line =>
        {
            if (!killed && line.Contains("Application startup complete.", StringComparison.Ordinal))
            {
                killed = true;
                await Wait.UntilAsync(async () => ProcFs.Descendants(sshd.ProcessId).FirstOrDefault(IsFollower) is var pid and > 0
                    && (await ProcessRunner.RunAsync("kill", ["-KILL", pid.ToString(CultureInfo.InvariantCulture)])).ExitCode == 0,
                    $"the follower of {Llm} runs and is killed");
            }
        }).WaitAsync(Wait.ContainerTimeout);
        bool IsFollower(int pid) => ProcFs.CommandLine(pid) is var line && line.Contains(" logs --follow ", StringComparison.Ordinal) && line.EndsWith($" {Llm}", StringComparison.Ordinal);

        Assert.True(killed, $"the server never started: {await ContainerStateAsync(Llm)}");
        Assert.StartsWith("The log stream stopped: 'docker logs --follow", lines[^1], StringComparison.Ordinal);
        Assert.Contains("(exit 137)", lines[^1], StringComparison.Ordinal);
        Assert.True(await IsRunningAsync(Llm));
    }

    [Fact]
    public async Task Logs_FollowedThroughTheApi_OfAContainerThatIsGone_EndCleanlyWithALineSayingWhy()
    {
        // As a viewer that opens while a swap has removed the old container and not yet started the new one.
        await StartAppAsync(null, LlmService(Tools.FreePort()));
        using var response = await _client.GetAsync("/api/services/spark-1/llm/logs/stream?tail=10", HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();

        var lines = await ReadStreamAsync(response).WaitAsync(Wait.DefaultTimeout);

        var last = Assert.Single(lines);
        Assert.StartsWith($"The log stream stopped: docker logs {Llm}", last, StringComparison.Ordinal);
        Assert.Contains($"No such container: {Llm}", last, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_Tail_IsTheLastLinesRedacted_AndStopStartRestartAreAudited()
    {
        var port = await RunModelServerAsync(Llm);
        await StartAppAsync(null, LlmService(port));
        // The server's last line is written when the panel's first health check reaches it; until then the log can grow
        // between the two reads below.
        await Wait.UntilAsync(async () => (await _client.GetStringAsync("/api/services/spark-1/llm/logs?tail=1000")).Contains("SIM first health", StringComparison.Ordinal),
            "the server is up and health-checked", TimeSpan.FromSeconds(120), describe: () => ContainerStateAsync(Llm));

        var all = (await _client.GetStringAsync("/api/services/spark-1/llm/logs?tail=1000")).TrimEnd('\n').Split('\n');
        var last3 = (await _client.GetStringAsync("/api/services/spark-1/llm/logs?tail=3")).TrimEnd('\n').Split('\n');
        using var restart = await _client.PostAsync("/api/services/spark-1/llm/restart", null);
        await Wait.UntilAsync(() => IsRunningAsync(Llm), "the restarted container runs");

        Assert.Equal(all[^3..], last3);
        Assert.DoesNotContain(all, l => l.Contains(ApiKey, StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.NoContent, restart.StatusCode);
        var audit = _app!.Get<SparkControl.Core.Audit.AuditLog>().Recent(5, "spark-1/llm");
        Assert.Equal(("anonymous", "service.restart", "done"), (audit[0].Actor, audit[0].Action, audit[0].Detail));
    }

    [Fact]
    public async Task Limits_SetThroughTheApi_AreOnTheRealContainerAndInServicesYaml()
    {
        var port = await RunModelServerAsync(Llm);
        await StartAppAsync(null, LlmService(port));

        using var response = await _client.PutAsJsonAsync("/api/services/spark-1/llm/limits", new { memoryLimit = "300m" });
        var change = await response.Content.ReadFromJsonAsync<JsonElement>();
        var (memory, swap) = await InspectLimitsAsync(Llm);
        using var invalid = await _client.PutAsJsonAsync("/api/services/spark-1/llm/limits", new { memoryLimit = "lots" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(change.GetProperty("changed").GetBoolean());
        Assert.Equal(300 * Mib, memory);
        Assert.Equal(300 * Mib, swap);
        var (saved, _) = ServicesYaml.Read(await File.ReadAllTextAsync(Path.Combine(_data.Path, ServicesYaml.FileName)), "services.yaml");
        Assert.Equal(300 * Mib, Assert.Single(saved).MemoryLimitBytes);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal((300 * Mib, 300 * Mib), await InspectLimitsAsync(Llm));
    }

    [Fact]
    public async Task ReapplyPatches_AfterTheContainerWasRecreated_RestoresTheCapAndSaysWhatChanged()
    {
        // The container as a compose file or a re-run would recreate it: no cap, although services.yaml has one.
        var port = await RunModelServerAsync(Llm);
        await StartAppAsync(null, LlmService(port, limit: 256 * Mib));

        using var first = await _client.PostAsync("/api/sparks/spark-1/reapply-patches", null);
        var firstChanges = await first.Content.ReadFromJsonAsync<JsonElement>();
        var afterFirst = await InspectLimitsAsync(Llm);
        using var second = await _client.PostAsync("/api/sparks/spark-1/reapply-patches", null);
        var secondChanges = await second.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var change = Assert.Single(firstChanges.EnumerateArray());
        Assert.True(change.GetProperty("changed").GetBoolean());
        Assert.Equal(JsonValueKind.Null, change.GetProperty("beforeBytes").ValueKind);
        Assert.Equal(256 * Mib, change.GetProperty("afterBytes").GetInt64());
        Assert.Equal((256 * Mib, 256 * Mib), afterFirst);
        Assert.False(Assert.Single(secondChanges.EnumerateArray()).GetProperty("changed").GetBoolean());
    }

    [Fact]
    public async Task AptUpdate_ThroughTheStandIns_StreamsItsOutputAsItHappens()
    {
        _bin.AllowPasswordlessSudo();
        await StartAppAsync();

        // apt-get holds its second line until the test has received the first: output buffered anywhere on the way
        // would never arrive, so the order below proves it streams, however loaded the machine.
        await File.WriteAllTextAsync(_bin.File("apt-get.hold"), string.Empty);
        using var response = await PostStreamingAsync("/api/sparks/spark-1/actions/apt-update");
        var lines = await ReadStreamAsync(response, line => line.StartsWith("Hit:1", StringComparison.Ordinal)
            ? File.WriteAllTextAsync(_bin.File("apt-get.go"), string.Empty)
            : Task.CompletedTask);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(
        [
            "Hit:1 http://ports.ubuntu.com/ubuntu-ports noble InRelease",
            "Get:2 http://ports.ubuntu.com/ubuntu-ports noble-updates InRelease [126 kB]",
            "Get:3 https://repo.download.nvidia.com/baseos/ubuntu/noble/arm64 noble InRelease [12.2 kB]",
            "Fetched 138 kB in 1s (142 kB/s)",
            "Reading package lists...",
            HostEndpoints.FinishedLine,
        ], lines);
        Assert.Equal("update DEBIAN_FRONTEND=noninteractive", (await File.ReadAllTextAsync(_bin.File("apt-get.log"))).Trim());
        Assert.Contains(_app!.Get<SparkControl.Core.Audit.AuditLog>().Recent(5, "spark-1"), e => e.Action == "host.apt-update" && e.Detail == "finished");
    }

    /// <summary>Reads the first line of a host action's output stream, then leaves (the viewer goes away).</summary>
    private static async Task<string?> FirstLineThenLeaveAsync(HttpResponseMessage response)
    {
        using (response)
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            return await reader.ReadLineAsync();
        }
    }

    private bool AptGetRuns() =>
        ProcFs.AnyCommandLineContains(_bin.File("apt-get")) || ProcFs.AnyCommandLineContains("apt-get update");

    [Fact]
    public async Task AptUpdate_TheViewerLeaves_ItRunsToItsEnd_OneAtATime_AndTheApiReattachesToItsOutput()
    {
        _bin.AllowPasswordlessSudo();
        await StartAppAsync();
        await File.WriteAllTextAsync(_bin.File("apt-get.hold"), string.Empty);
        try
        {
            var first = await FirstLineThenLeaveAsync(await PostStreamingAsync("/api/sparks/spark-1/actions/apt-update"));

            // The viewer is gone; apt-get is not (it holds after its first line until the test lets it go).
            var current = await _client.GetFromJsonAsync<JsonElement>("/api/sparks/spark-1/actions/current");
            using var second = await _client.PostAsync("/api/sparks/spark-1/actions/apt-upgrade", null);
            using var edit = await _client.DeleteAsync("/api/sparks/spark-1");
            Assert.Equal("Hit:1 http://ports.ubuntu.com/ubuntu-ports noble InRelease", first);
            Assert.Equal(("apt-update", "running"), (current.GetProperty("action").GetString(), current.GetProperty("progress").GetString()));
            Assert.True(AptGetRuns());
            Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
            Assert.Contains("apt-get update is already running on spark-1", (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Conflict, edit.StatusCode);
            Assert.Contains("while apt-get update runs on it", (await edit.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);

            using var output = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/sparks/spark-1/actions/current/output"), HttpCompletionOption.ResponseHeadersRead);
            var lines = await ReadStreamAsync(output, line => line.StartsWith("Hit:1", StringComparison.Ordinal)
                ? File.WriteAllTextAsync(_bin.File("apt-get.go"), string.Empty)
                : Task.CompletedTask);

            Assert.Equal("Hit:1 http://ports.ubuntu.com/ubuntu-ports noble InRelease", lines[0]);
            Assert.Equal(["Reading package lists...", HostEndpoints.FinishedLine], lines[^2..]);
            Assert.Equal("update DEBIAN_FRONTEND=noninteractive", (await File.ReadAllTextAsync(_bin.File("apt-get.log"))).Trim());
            await Wait.UntilAsync(() => _app!.Get<SparkControl.Core.Audit.AuditLog>().Recent(5, "spark-1").Any(e => e.Action == "host.apt-update" && e.Detail == "finished"), "the end is in the audit log");
        }
        finally
        {
            await File.WriteAllTextAsync(_bin.File("apt-get.go"), string.Empty);
        }
    }

    [Fact]
    public async Task AptUpdate_SurvivesAPanelRestart_AndTheRestartedPanelFollowsItToItsEnd()
    {
        _bin.AllowPasswordlessSudo();
        await StartAppAsync();
        await File.WriteAllTextAsync(_bin.File("apt-get.hold"), string.Empty);
        try
        {
            await FirstLineThenLeaveAsync(await PostStreamingAsync("/api/sparks/spark-1/actions/apt-update"));
            _client.Dispose();
            await _app!.DisposeAsync();
            _app = null;
            Assert.True(AptGetRuns());

            await StartAppAsync();
            var found = await _client.GetFromJsonAsync<JsonElement>("/api/sparks/spark-1/actions/current");
            using var output = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/sparks/spark-1/actions/current/output"), HttpCompletionOption.ResponseHeadersRead);
            var lines = await ReadStreamAsync(output, line => line.StartsWith("Hit:1", StringComparison.Ordinal)
                ? File.WriteAllTextAsync(_bin.File("apt-get.go"), string.Empty)
                : Task.CompletedTask);
            var ended = await _client.GetFromJsonAsync<JsonElement>("/api/sparks/spark-1/actions/current");

            Assert.Equal("running", found.GetProperty("progress").GetString());
            Assert.Equal(6, lines.Count);
            Assert.Equal(HostEndpoints.FinishedLine, lines[^1]);
            Assert.Equal(("ended", 0), (ended.GetProperty("progress").GetString(), ended.GetProperty("exitCode").GetInt32()));
        }
        finally
        {
            await File.WriteAllTextAsync(_bin.File("apt-get.go"), string.Empty);
        }
    }

    [Fact]
    public async Task AptUpgrade_TheSshConnectionIsCutMidway_ItRunsOn_AndThePanelReconnectsAndFollowsItToItsEnd()
    {
        _bin.AllowPasswordlessSudo();
        await StartAppAsync();
        await File.WriteAllTextAsync(_bin.File("apt-get.hold"), string.Empty);
        try
        {
            var first = await FirstLineThenLeaveAsync(await PostStreamingAsync("/api/sparks/spark-1/actions/apt-upgrade"));
            using var output = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/sparks/spark-1/actions/current/output"), HttpCompletionOption.ResponseHeadersRead);
            var reading = ReadStreamAsync(output);
            var loginsBefore = sshd.AcceptedLogins;

            var cut = await sshd.DropConnectionsAsync();
            var runsAfterTheCut = AptGetRuns();
            await Wait.UntilAsync(() => sshd.AcceptedLogins > loginsBefore, "the panel connects again", Wait.ContainerTimeout);
            await File.WriteAllTextAsync(_bin.File("apt-get.go"), string.Empty);
            var lines = await reading.WaitAsync(Wait.ContainerTimeout);
            var ended = await _client.GetFromJsonAsync<JsonElement>("/api/sparks/spark-1/actions/current");

            Assert.Equal("Reading package lists...", first);
            Assert.True(cut > 0, "a connection was cut");
            Assert.True(runsAfterTheCut, "apt-get runs on after the connection is cut");
            Assert.Equal(["Reading package lists...", "Building dependency tree...", "Calculating upgrade...", "The following packages will be upgraded:",
                "  nvidia-container-toolkit nvidia-container-toolkit-base", "2 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.",
                "Setting up nvidia-container-toolkit-base (1.17.8-1) ...", "Setting up nvidia-container-toolkit (1.17.8-1) ...", HostEndpoints.FinishedLine], lines);
            Assert.Equal(("apt-upgrade", "ended", 0), (ended.GetProperty("action").GetString(), ended.GetProperty("progress").GetString(), ended.GetProperty("exitCode").GetInt32()));
            Assert.Equal("-y upgrade DEBIAN_FRONTEND=noninteractive", (await File.ReadAllTextAsync(_bin.File("apt-get.log"))).Trim());
        }
        finally
        {
            await File.WriteAllTextAsync(_bin.File("apt-get.go"), string.Empty);
        }
    }

    [Fact]
    public async Task AptUpgrade_FailingMirror_EndsWithAFailedLine()
    {
        _bin.AllowPasswordlessSudo();
        await File.WriteAllTextAsync(_bin.File("apt-get.fail"), string.Empty);
        await StartAppAsync();

        using var upgrade = await PostStreamingAsync("/api/sparks/spark-1/actions/apt-upgrade");
        var upgraded = await ReadStreamAsync(upgrade);
        using var update = await PostStreamingAsync("/api/sparks/spark-1/actions/apt-update");
        var updated = await ReadStreamAsync(update);

        Assert.Equal(HostEndpoints.FinishedLine, upgraded[^1]);
        Assert.Contains(upgraded, l => l == "2 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.");
        Assert.Contains(updated, l => l.StartsWith("Hit:1", StringComparison.Ordinal));
        Assert.StartsWith(HostEndpoints.FailedPrefix, updated[^1], StringComparison.Ordinal);
        Assert.Contains("Could not resolve 'ports.ubuntu.com'", updated[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AptFullUpgrade_ThroughTheStandIns_ShowsItsRemovalsFirst_AndRunsOnlyWithTheirCount()
    {
        _bin.AllowPasswordlessSudo();
        await File.WriteAllTextAsync(_bin.File("apt-get.removals"), "libstdc++6-legacy\npython3.12-venv\n");
        await StartAppAsync();

        var preview = await _client.GetFromJsonAsync<JsonElement>("/api/sparks/spark-1/actions/apt-full-upgrade/preview");
        using var unconfirmed = await _client.PostAsync("/api/sparks/spark-1/actions/apt-full-upgrade", null);
        var refusal = await unconfirmed.Content.ReadFromJsonAsync<JsonElement>();
        var logBeforeTheRun = await File.ReadAllLinesAsync(_bin.File("apt-get.log"));
        using var confirmed = await PostStreamingAsync("/api/sparks/spark-1/actions/apt-full-upgrade?confirmRemovals=2");
        var lines = await ReadStreamAsync(confirmed);
        var logAfterTheRun = await File.ReadAllLinesAsync(_bin.File("apt-get.log"));
        JsonElement updates = default;
        await Wait.UntilAsync(async () =>
        {
            updates = await _client.GetFromJsonAsync<JsonElement>("/api/sparks/spark-1/updates");
            return updates.GetProperty("lastRuns").EnumerateArray().Any(r => r.GetProperty("action").GetString() == "apt-full-upgrade" && r.GetProperty("outcome").GetString() == "finished");
        }, "the full-upgrade's end is in the audit log");

        Assert.Equal(["libstdc++6-legacy", "python3.12-venv"], preview.GetProperty("removals").EnumerateArray().Select(r => r.GetProperty("package").GetString()));
        Assert.Equal(2, preview.GetProperty("upgrades").GetArrayLength());
        Assert.Equal(HttpStatusCode.Conflict, unconfirmed.StatusCode);
        Assert.Contains("removes 2 packages: libstdc++6-legacy, python3.12-venv", refusal.GetProperty("detail").GetString(), StringComparison.Ordinal);
        // Only simulations ran before the confirmed start: the preview and the refused start's check.
        Assert.Equal(["-s full-upgrade DEBIAN_FRONTEND=", "-s full-upgrade DEBIAN_FRONTEND="], logBeforeTheRun);
        Assert.Contains("Removing libstdc++6-legacy (1.16.2-1) ...", lines);
        Assert.Equal(HostEndpoints.FinishedLine, lines[^1]);
        // The confirmed start simulates once more (the count is checked against the Spark now), then runs for real.
        Assert.Equal([.. logBeforeTheRun, "-s full-upgrade DEBIAN_FRONTEND=", "-y full-upgrade DEBIAN_FRONTEND=noninteractive"], logAfterTheRun);
        Assert.Equal((2, 2, 1), (updates.GetProperty("aptUpgrades").GetInt32(), updates.GetProperty("aptRemovals").GetInt32(), updates.GetProperty("firmwarePending").GetInt32()));
    }

    [Fact]
    public async Task FirmwareUpdate_TheViewerLeaves_ItRunsDetachedToItsEnd()
    {
        _bin.AllowPasswordlessSudo();
        await File.WriteAllTextAsync(_bin.File("fwupdmgr.hold"), string.Empty);
        await StartAppAsync();
        try
        {
            var first = await FirstLineThenLeaveAsync(await PostStreamingAsync("/api/sparks/spark-1/actions/firmware-update"));

            // The viewer is gone; fwupdmgr holds after its first line until the test lets it go.
            var running = await _client.GetFromJsonAsync<JsonElement>("/api/sparks/spark-1/actions/current");
            var runs = ProcFs.AnyCommandLineContains(_bin.File("fwupdmgr"));
            await File.WriteAllTextAsync(_bin.File("fwupdmgr.go"), string.Empty);
            await Wait.UntilAsync(() => _app!.Get<SparkControl.Core.Audit.AuditLog>().Recent(5, "spark-1").Any(e => e.Action == "host.firmware-update" && e.Detail == "finished"), "the end is in the audit log", Wait.ContainerTimeout);
            using var output = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/sparks/spark-1/actions/current/output"), HttpCompletionOption.ResponseHeadersRead);
            var lines = await ReadStreamAsync(output);
            var ended = await _client.GetFromJsonAsync<JsonElement>("/api/sparks/spark-1/actions/current");
            await File.WriteAllTextAsync(_bin.File("fwupdmgr.none"), string.Empty);
            var updates = await _client.GetFromJsonAsync<JsonElement>("/api/sparks/spark-1/updates");

            Assert.Equal("Downloading 0x01000b00 for System Firmware…", first);
            Assert.Equal(("firmware-update", "running"), (running.GetProperty("action").GetString(), running.GetProperty("progress").GetString()));
            Assert.True(runs, "fwupdmgr runs on after its viewer left");
            Assert.Equal(["Successfully installed firmware", "An update requires a reboot to complete.", HostEndpoints.FinishedLine], lines[^3..]);
            Assert.Equal(("ended", 0), (ended.GetProperty("progress").GetString(), ended.GetProperty("exitCode").GetInt32()));
            Assert.Contains("update -y --no-reboot-check --no-unreported-check", await File.ReadAllLinesAsync(_bin.File("fwupdmgr.log")));
            // fwupdmgr's "No updates available" (exit 2) is none pending, not a problem.
            Assert.Equal(0, updates.GetProperty("firmwarePending").GetInt32());
            Assert.Equal(JsonValueKind.Null, updates.GetProperty("firmwareProblem").ValueKind);
        }
        finally
        {
            await File.WriteAllTextAsync(_bin.File("fwupdmgr.go"), string.Empty);
        }
    }

    [Fact]
    public async Task HostActions_WithoutPasswordlessSudo_Are409WithHowToFixIt_AndNothingRuns()
    {
        await StartAppAsync();

        using var response = await _client.PostAsync("/api/sparks/spark-1/actions/apt-upgrade", null);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var host = await _client.GetFromJsonAsync<JsonElement>("/api/sparks/spark-1/host");

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains($"{sshd.User} ALL=(root) NOPASSWD:", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(File.Exists(_bin.File("apt-get.log")));
        Assert.False(host.GetProperty("passwordlessSudo").GetBoolean());
        Assert.Contains("visudo", host.GetProperty("sudoHelp").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reboot_WhileAModelRuns_IsRefused_ThenWithStopFirst_StopsItAndReboots()
    {
        _bin.AllowPasswordlessSudo();
        var model = $"vllm-{_suffix}";
        await RunIdleAsync(model, $"{ContainerLabels.Role}={ContainerLabels.ModelRole}", $"{ContainerLabels.Model}=qwen3-8b");
        await StartAppAsync();

        using var refused = await _client.PostAsync("/api/sparks/spark-1/actions/reboot", null);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        var stillRunning = await IsRunningAsync(model);
        var rebootedAnyway = File.Exists(_bin.File("reboot.requested"));
        using var reboot = await PostStreamingAsync("/api/sparks/spark-1/actions/reboot?stopModelsFirst=true");
        var lines = await ReadStreamAsync(reboot);

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains(model, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(stillRunning);
        Assert.False(rebootedAnyway);
        Assert.Equal($"Stopping {model}…", lines[0]);
        Assert.StartsWith("Broadcast message from root@", lines[1], StringComparison.Ordinal);
        Assert.Equal(HostEndpoints.FinishedLine, lines[^1]);
        Assert.False(await IsRunningAsync(model));
        Assert.Single(await File.ReadAllLinesAsync(_bin.File("reboot.requested")));
    }

    [Fact]
    public async Task Reboot_StopFirst_StopsALaunchClusterContainerWithTheScriptsOwnStop()
    {
        _bin.AllowPasswordlessSudo();
        var cluster = new LaunchClusterSettings { Script = _bin.File("launch-cluster.sh"), ContainerName = $"vllm_node_{_suffix}" };
        await RunIdleAsync(cluster.ContainerName);
        await StartAppAsync(cluster);

        using var reboot = await PostStreamingAsync("/api/sparks/spark-1/actions/reboot?stopModelsFirst=true");
        var lines = await ReadStreamAsync(reboot);

        Assert.Equal($"Stopping {cluster.ContainerName} with launch-cluster.sh stop (on every node)…", lines[0]);
        Assert.Equal(HostEndpoints.FinishedLine, lines[^1]);
        Assert.False(await IsRunningAsync(cluster.ContainerName));
        Assert.True(File.Exists(_bin.File("reboot.requested")));
    }

    [Fact]
    public async Task HostOverview_ReadsFactsMemoryDisksAndTheImageEachModelContainerRuns()
    {
        _bin.AllowPasswordlessSudo();
        var model = $"vllm-{_suffix}";
        await RunIdleAsync(model, $"{ContainerLabels.Role}={ContainerLabels.ModelRole}", $"{ContainerLabels.Model}=qwen3-8b");
        await StartAppAsync();
        var imageId = (await docker.DockerAsync(["image", "inspect", "-f", "{{.Id}}", DockerdFixture.BaseImage])).Stdout.Trim();

        var host = await _client.GetFromJsonAsync<JsonElement>("/api/sparks/spark-1/host");

        Assert.Equal("spark-1", host.GetProperty("spark").GetString());
        Assert.False(string.IsNullOrEmpty(host.GetProperty("facts").GetProperty("kernel").GetString()));
        Assert.False(string.IsNullOrEmpty(host.GetProperty("facts").GetProperty("dockerVersion").GetString()));
        Assert.True(host.GetProperty("memory").GetProperty("totalBytes").GetInt64() > 0);
        Assert.NotEmpty(host.GetProperty("disks").EnumerateArray());
        Assert.True(host.GetProperty("passwordlessSudo").GetBoolean());
        var container = Assert.Single(host.GetProperty("modelContainers").EnumerateArray());
        Assert.Equal(model, container.GetProperty("container").GetString());
        Assert.Equal("qwen3-8b", container.GetProperty("model").GetString());
        Assert.Equal(imageId, container.GetProperty("imageId").GetString());
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            // A held stand-in is let go, so no host action outlives the test.
            await File.WriteAllTextAsync(_bin.File("apt-get.go"), string.Empty);
            await File.WriteAllTextAsync(_bin.File("fwupdmgr.go"), string.Empty);
            _client.Dispose();
            await _app.DisposeAsync();
        }

        foreach (var container in _containers)
        {
            await docker.DockerAsync(["rm", "-f", container], check: false);
        }

        _bin.Dispose();
        _data.Dispose();
    }
}
