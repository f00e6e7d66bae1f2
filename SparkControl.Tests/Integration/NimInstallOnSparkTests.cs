using static Microsoft.Playwright.Assertions;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SparkControl.Core.Launch;
using SparkControl.Core.Secrets;
using SparkControl.Tests.Infrastructure;
using SparkControl.Tests.Shell;

namespace SparkControl.Tests.Integration;

/// <summary>
/// A NIM installed through a real registry and a real engine: Debian's docker-registry on loopback (htpasswd, the NGC
/// key as its password) holds a NIM stand-in image (the simulator's, whose entrypoint serves as a NIM does); the panel
/// reaches spark-1 through sshd, logs in with the key on stdin, reads the manifest, pulls, registers and swaps to it.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class NimInstallOnSparkTests(DockerdFixture docker, SshdFixture sshd, BrowserFixture browser) : BrowserTest(browser)
{
    private readonly TempDirectory _data = new("sc-data");
    private readonly TempDirectory _pusher = new("sc-push");
    private readonly LogCollector _logs = new();
    private readonly int _port = Tools.FreePort();
    private readonly string _key = $"nvapi-{Guid.NewGuid():N}";
    private LocalRegistry _registry = null!;
    private SparkBin _bin = null!;

    private string Image => $"{_registry.Address}/nim/meta/llama-3.1-8b-instruct:1.0";

    public override async Task InitializeAsync()
    {
        _registry = await LocalRegistry.StartAsync("$oauthtoken", _key);
        _bin = new SparkBin(docker);
        _bin.SetDockerRunEnvironment(("SPARKCONTROL_SIM_LOAD_SECONDS", "1"));
        await PushStandInAsync();
        var spark = SparkOnDocker.Definition(sshd, _bin, _data.Path, [_data.File("models")]);
        await SparkOnDocker.WriteAsync(_data.Path, sshd, spark, []);
    }

    /// <summary>
    /// Builds the stand-in (the simulator's image, two layers of its own, the NIM entrypoint), pushes it with a docker
    /// configuration of the test's own, and removes it from the engine: the panel has to log in and pull it.
    /// </summary>
    private async Task PushStandInAsync()
    {
        var context = _pusher.File("context");
        Directory.CreateDirectory(context);
        await File.WriteAllBytesAsync(Path.Combine(context, "profile.bin"), System.Security.Cryptography.RandomNumberGenerator.GetBytes(300_000));
        await File.WriteAllTextAsync(Path.Combine(context, "manifest.yaml"), $"profile: {Guid.NewGuid():N}\n");
        await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"),
            $"FROM {DockerdFixture.BaseImage}\nCOPY profile.bin /opt/nim/profile.bin\nCOPY manifest.yaml /opt/nim/manifest.yaml\nENTRYPOINT [\"/sim/nim\"]\n");
        var environment = new Dictionary<string, string?> { ["DOCKER_CONFIG"] = _pusher.File("config"), ["DOCKER_BUILDKIT"] = "0" };
        async Task Docker(string[] arguments, string? stdin = null) =>
            (await ProcessRunner.RunAsync(Tools.Docker, ["-H", docker.Host, .. arguments], TimeSpan.FromMinutes(3), environment, stdin)).EnsureSuccess($"docker {arguments[0]}");
        await Docker(["build", "-q", "-t", Image, context]);
        await Docker(["login", _registry.Address, "--username", "$oauthtoken", "--password-stdin"], _registry.Password);
        await Docker(["push", Image]);
        await Docker(["rmi", Image]);
    }

    private Task<SparkControlApp> StartAppAsync()
    {
        var settings = SparkOnDocker.AppSettings();
        settings["Nim:Registries:0"] = _registry.Address;
        return SparkControlApp.StartAsync(settings, _data.Path, s => s.AddSingleton<ILoggerProvider>(_logs));
    }

    [Fact]
    public async Task Install_LogsInWithTheKeyOnStdin_PullsTheLayers_RegistersAndSwapsToIt_AndTheKeyIsNeverOnACommandLineOrInALog()
    {
        await using var app = await StartAppAsync();
        using var client = app.CreateClient();
        await app.Get<SecretStore>().SetAsync(SecretStore.NgcApiKey, _key, CancellationToken.None);
        using var watcher = ProcessWatch.ForSecret(_key);

        using var response = await client.PostAsJsonAsync("/api/nim", new { spark = "spark-1", image = Image, servedName = "nim-llama", port = _port, memoryEstimateGiB = 1, registerModel = true, registerService = true });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var location = response.Headers.Location!.ToString();
        var started = await response.Content.ReadFromJsonAsync<JsonElement>();
        JsonElement ended = default;
        await Wait.UntilAsync(async () =>
        {
            ended = await client.GetFromJsonAsync<JsonElement>(location);
            return ended.GetProperty("phase").GetString() is "ready" or "failed";
        }, "the install ends", Wait.ContainerTimeout);

        Assert.True(ended.GetProperty("phase").GetString() == "ready", ended.ToString());
        Assert.Equal(0, watcher.Stop());
        Assert.True(watcher.Scans > 5, "the process list was watched while the install ran");
        // The manifest said 3 layers (the simulator's own, already in the engine, and the stand-in's two); the pull did them all.
        Assert.Equal(3, started.GetProperty("image").GetProperty("layers").GetInt32());
        Assert.Equal((3, 3), (ended.GetProperty("layersDone").GetInt32(), ended.GetProperty("layersTotal").GetInt32()));
        var lines = ended.GetProperty("lines").EnumerateArray().Select(l => l.GetString()!).ToList();
        Assert.Single(lines, l => l.EndsWith(": Already exists", StringComparison.Ordinal));
        Assert.Equal(2, lines.Count(l => l.EndsWith(": Pull complete", StringComparison.Ordinal)));
        Assert.Equal(Image, (await docker.DockerAsync(["inspect", "-f", "{{.Config.Image}}", LaunchSpecs.ModelContainerName])).Stdout.Trim());

        // Served through the gateway by the name the form gave; watched as a NIM service; the env file is gone.
        var sdk = new OpenAI.OpenAIClient(new System.ClientModel.ApiKeyCredential("not-checked"), new OpenAI.OpenAIClientOptions { Endpoint = new Uri(app.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(60) });
        OpenAI.Chat.ChatCompletion answer = await sdk.GetChatClient("nim-llama").CompleteChatAsync([new OpenAI.Chat.UserChatMessage("Hello")], new OpenAI.Chat.ChatCompletionOptions { MaxOutputTokenCount = 4 });
        Assert.Equal("nim-llama", answer.Model);
        await Wait.UntilAsync(async () => (await client.GetStringAsync("/api/services")).Contains("\"nim-llama\"", StringComparison.Ordinal), "the NIM is watched as a service", Wait.ContainerTimeout);
        Assert.False(File.Exists(Path.Combine(sshd.Home, ".config", "sparkcontrol", "secrets.env")));
        Assert.DoesNotContain(_logs.Messages, m => m.Contains(_key, StringComparison.Ordinal));
        Assert.DoesNotContain(_key, ended.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FromTheForm_AHostileImageIsRefusedAsTyped_ThenTheInstallShowsItsLayers_AndTheModelIsSwappedTo()
    {
        await using var app = await StartAppAsync();
        await app.Get<SecretStore>().SetAsync(SecretStore.NgcApiKey, _key, CancellationToken.None);
        using var watcher = ProcessWatch.ForSecret(_key);
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/models");

        await page.GetByTestId("install-nim").ClickAsync();
        await page.GetByTestId("nim-image").FillAsync($"{Image};rm -rf ~");
        await Expect(page.GetByTestId("nim-dialog")).ToContainTextAsync("image '");
        await Expect(page.GetByTestId("nim-install")).ToBeDisabledAsync();
        await page.GetByTestId("nim-image").FillAsync(Image);
        // The served name NIM would use is offered from the image; the operator picks their own.
        await Expect(page.GetByTestId("nim-served-name")).ToHaveValueAsync("llama-3.1-8b-instruct");
        await page.GetByTestId("nim-served-name").FillAsync("nim-form");
        await page.GetByTestId("nim-port").FillAsync(_port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await page.GetByTestId("nim-memory").FillAsync("1");
        await page.SaveScreenshotAsync("nim-install-form.png");
        await page.GetByTestId("nim-install").ClickAsync();
        await page.GetByTestId("confirm-ok").ClickAsync();

        await Expect(page.GetByTestId("nim-ready")).ToContainTextAsync("nim-form is ready on spark-1", new() { Timeout = (float)Wait.ContainerTimeout.TotalMilliseconds });
        await Expect(page.GetByTestId("nim-layers")).ToHaveTextAsync("3 of 3 layers pulled");
        await Expect(page.GetByTestId("nim-lines")).ToContainTextAsync(": Pull complete");
        await page.SaveScreenshotAsync("nim-install-ready.png");
        await page.GetByTestId("nim-close").ClickAsync();
        await Expect(page.GetByTestId("model-nim-form")).ToContainTextAsync("nim-form (NIM)");
        Assert.Equal(0, watcher.Stop());
        Assert.True(await SparkOnDocker.ServesAsync(_port, "nim-form"));
        Assert.DoesNotContain(_logs.Messages, m => m.Contains(_key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ServiceOnly_RunsItsOwnContainer_CappedAtTheEstimate_ReadyOnItsHealthPath_AndWatchedAsANimService()
    {
        await using var app = await StartAppAsync();
        using var client = app.CreateClient();
        await app.Get<SecretStore>().SetAsync(SecretStore.NgcApiKey, _key, CancellationToken.None);
        using var watcher = ProcessWatch.ForSecret(_key);

        using var response = await client.PostAsJsonAsync("/api/nim", new { spark = "spark-1", image = Image, servedName = "nim-svc", port = _port, memoryEstimateGiB = 1, registerModel = false, registerService = true });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        JsonElement ended = default;
        await Wait.UntilAsync(async () =>
        {
            ended = await client.GetFromJsonAsync<JsonElement>(response.Headers.Location!.ToString());
            return ended.GetProperty("phase").GetString() is "ready" or "failed";
        }, "the install ends", Wait.ContainerTimeout);

        Assert.True(ended.GetProperty("phase").GetString() == "ready", ended.ToString());
        Assert.Equal(0, watcher.Stop());
        var inspected = (await docker.DockerAsync(["inspect", "-f", "{{.Config.Image}} {{.HostConfig.Memory}} {{.State.Running}}", "nim-nim-svc"])).Stdout.Trim();
        Assert.Equal($"{Image} {1L << 30} true", inspected);
        Assert.True(await SparkOnDocker.ServesAsync(_port, "nim-svc"));
        Assert.False(File.Exists(Path.Combine(sshd.Home, ".config", "sparkcontrol", "secrets.env")));
        await Wait.UntilAsync(async () => (await client.GetStringAsync("/api/services")).Contains("\"nim-svc\"", StringComparison.Ordinal), "the NIM is watched as a service", Wait.ContainerTimeout);
        Assert.DoesNotContain(_logs.Messages, m => m.Contains(_key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AKeyTheRegistryRefuses_IsAConflict_AndNothingIsPulled()
    {
        await using var app = await StartAppAsync();
        using var client = app.CreateClient();
        var wrong = $"nvapi-{Guid.NewGuid():N}";
        await app.Get<SecretStore>().SetAsync(SecretStore.NgcApiKey, wrong, CancellationToken.None);

        using var response = await client.PostAsJsonAsync("/api/nim", new { spark = "spark-1", image = Image, servedName = "nim-llama", port = _port, memoryEstimateGiB = 1 });
        var problem = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("refused the NGC key", problem, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, problem, StringComparison.Ordinal);
        Assert.NotEqual(0, (await docker.DockerAsync(["image", "inspect", Image], check: false)).ExitCode);
        Assert.DoesNotContain(_logs.Messages, m => m.Contains(wrong, StringComparison.Ordinal));
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await docker.DockerAsync(["rm", "-f", LaunchSpecs.ModelContainerName, "nim-nim-svc"], check: false);
        await docker.DockerAsync(["rmi", "-f", Image], check: false);
        await _registry.DisposeAsync();
        _bin.Dispose();
        _pusher.Dispose();
        _data.Dispose();
        _logs.Dispose();
    }
}
