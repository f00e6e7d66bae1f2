using System.Net;
using System.Text.Json;
using Renci.SshNet;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Integration;

[Collection(DockerCollection.Name)]
public sealed class FixtureTests(DockerdFixture docker, SshdFixture sshd)
{
    [Fact]
    public void Sshd_RunsACommandForTheAuthorizedKey()
    {
        using var client = new SshClient(sshd.Host, sshd.Port, sshd.User, new PrivateKeyFile(sshd.ClientKeyPath));
        client.Connect();

        using var command = client.RunCommand("echo hello from $(hostname) && id -un");

        Assert.Equal(0, command.ExitStatus);
        Assert.StartsWith("hello from ", command.Result, StringComparison.Ordinal);
        Assert.EndsWith($"{sshd.User}\n", command.Result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dockerd_RunsAContainerFromTheImportedImage()
    {
        var result = await docker.DockerAsync(["run", "--rm", "--network", "host", "-v", "/usr:/usr:ro", DockerdFixture.BaseImage, "/bin/sh", "-c", "echo hello from a container; cat /etc/passwd | head -1"]);

        Assert.Equal("hello from a container\nroot:x:0:0:root:/root:/bin/sh\n", result.Stdout);
    }

    [Fact]
    public async Task SimImage_ServesVllmsCommandLineInAContainer()
    {
        var port = Tools.FreePort();
        var name = $"sim-{Guid.NewGuid():N}"[..16];
        string[] mounts = [.. DockerdFixture.HostRuntimeMounts.SelectMany(m => new[] { "-v", m })];
        await docker.DockerAsync(["run", "-d", "--name", name, "--network", "host", .. mounts, "-e", "SPARKCONTROL_SIM_LOAD_SECONDS=1", "--entrypoint", "vllm",
            DockerdFixture.BaseImage, "serve", "Qwen/Qwen3-8B", "--served-model-name", "qwen3-8b", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--gpu-memory-utilization", "0.5"]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };

        await Wait.UntilAsync(async () =>
        {
            try
            {
                return (await http.GetAsync("/health")).StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "the containerized model server answers /health", Wait.ContainerTimeout);
        using var models = JsonDocument.Parse(await http.GetStringAsync("/v1/models"));
        var logs = await docker.DockerAsync(["logs", name]);
        await docker.DockerAsync(["stop", "-t", "10", name]);
        var state = await docker.DockerAsync(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name]);

        Assert.Equal("qwen3-8b", models.RootElement.GetProperty("data")[0].GetProperty("id").GetString());
        Assert.Contains($"Starting vLLM API server 0 on http://0.0.0.0:{port}", logs.Stdout, StringComparison.Ordinal);
        Assert.Equal("exited 0", state.Stdout.Trim());
    }

    [Fact]
    public async Task SimImage_OutOfMemoryInASmallContainer_IsKilledByTheKernel()
    {
        var name = $"oom-{Guid.NewGuid():N}"[..16];
        string[] mounts = [.. DockerdFixture.HostRuntimeMounts.SelectMany(m => new[] { "-v", m })];

        await docker.DockerAsync(["run", "-d", "--name", name, "--network", "host", "--memory", "160m", "--memory-swap", "160m", .. mounts,
            "-e", "SPARKCONTROL_SIM_FAIL=oom", "-e", "SPARKCONTROL_SIM_LOAD_SECONDS=0.2", "-e", "SPARKCONTROL_SIM_OOM_LIMIT_MB=4096", "--entrypoint", "vllm",
            DockerdFixture.BaseImage, "serve", "org/too-big", "--port", Tools.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await Wait.UntilAsync(async () => (await docker.DockerAsync(["inspect", "-f", "{{.State.Status}}", name])).Stdout.Trim() == "exited", "the container exited", Wait.ContainerTimeout);
        var state = await docker.DockerAsync(["inspect", "-f", "{{.State.ExitCode}} {{.State.OOMKilled}}", name]);
        var logs = await docker.DockerAsync(["logs", name]);

        Assert.Equal("137 true", state.Stdout.Trim());
        Assert.Contains("Starting to load model org/too-big", logs.Stdout, StringComparison.Ordinal);
    }
}
