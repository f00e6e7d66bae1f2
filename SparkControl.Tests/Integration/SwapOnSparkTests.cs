using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Core.Catalog;
using SparkControl.Core.Hosts;
using SparkControl.Tests.Infrastructure;
using SparkControl.Core.Launch;

namespace SparkControl.Tests.Integration;

/// <summary>
/// Swaps through the running panel, <see cref="DockerSparkHost"/>, the real sshd and dockerd, with the simulator's
/// <c>vllm serve</c> in a container started from the panel's own command line. Containers outlive the app, so a restart
/// in the middle of a swap is reconciled for real.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class SwapOnSparkTests(DockerdFixture docker, SshdFixture sshd, BrowserFixture browser) : BrowserTest(browser)
{
    private readonly TempDirectory _data = new("sc-data");
    private readonly TempDirectory _tree = new("sc-tree");
    private readonly int _port = Tools.FreePort();
    private SparkBin _bin = null!;

    private string Models => _tree.File("models");

    public override async Task InitializeAsync()
    {
        _bin = new SparkBin(docker);
        foreach (var name in new[] { "ft-a", "ft-b" })
        {
            await SparkOnDocker.CreateLocalModelAsync(Models, name);
        }

        // A directory outside the roots that holds a model too, and a link inside the roots that leads to ft-a for now.
        Directory.CreateDirectory(_tree.File("outside"));
        foreach (var file in Directory.GetFiles(Path.Combine(Models, "ft-a")))
        {
            File.Copy(file, Path.Combine(_tree.File("outside"), Path.GetFileName(file)));
        }

        File.CreateSymbolicLink(Path.Combine(Models, "current"), Path.Combine(Models, "ft-a"));
        var spark = SparkOnDocker.Definition(sshd, _bin, _data.Path, [Models], _tree.File("hf"));
        var models = new[] { "ft-a", "ft-b", "current" }.Select(name => SparkOnDocker.Model(name, new LocalSource("spark-1", Path.Combine(Models, name)), _port));
        await SparkOnDocker.WriteAsync(_data.Path, sshd, spark, models);
    }

    private Task<SparkControlApp> StartAppAsync() =>
        SparkControlApp.StartAsync(SparkOnDocker.AppSettings(), _data.Path);

    private Task<bool> ServesAsync(string served) => SparkOnDocker.ServesAsync(_port, served);

    [Fact]
    public async Task Swaps_ThroughSshAndDocker_LoadReplaceAndUnload()
    {
        _bin.SetDockerRunEnvironment(("SPARKCONTROL_SIM_LOAD_SECONDS", "1"));
        await using var app = await StartAppAsync();
        using var client = app.CreateClient();

        using var first = await client.PostAsJsonAsync("/api/swaps", new { model = "ft-a", spark = "spark-1" });
        var firstId = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await SwapApi.WaitForReadyAsync(client, firstId, "ft-a is loaded");
        // Steps the log follow had not delivered by Ready are read from the log after it.
        var a = await SwapApi.WaitForAsync(client, firstId, s => s.GetProperty("steps").EnumerateArray().Any(step => step.GetProperty("text").GetString() == "application started"), "ft-a's loading steps are complete");
        var servedA = await ServesAsync("ft-a");
        var labels = (await docker.DockerAsync(["inspect", "-f", "{{index .Config.Labels \"sparkcontrol.model\"}}", LaunchSpecs.ModelContainerName])).Stdout.Trim();
        using var second = await client.PostAsJsonAsync("/api/swaps", new { model = "ft-b", spark = "spark-1" });
        var b = await SwapApi.WaitForReadyAsync(client, (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!, "ft-b replaces ft-a");
        var servedB = await ServesAsync("ft-b");
        using var unload = await client.PostAsync("/api/sparks/spark-1/unload", null);
        var u = await SwapApi.WaitForReadyAsync(client, (await unload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!, "the model is unloaded");

        Assert.Equal("ready", a.GetProperty("phase").GetString());
        Assert.True(servedA);
        Assert.Equal("ft-a", labels);
        Assert.Contains(a.GetProperty("steps").EnumerateArray(), s => s.GetProperty("text").GetString()!.StartsWith("weights loaded in", StringComparison.Ordinal));
        Assert.Equal("ready", b.GetProperty("phase").GetString());
        Assert.Equal("ft-a", b.GetProperty("previousModelId").GetString());
        Assert.Contains(b.GetProperty("previousLogs").EnumerateArray(), l => l.GetString()!.Contains("Application startup complete", StringComparison.Ordinal));
        Assert.True(servedB);
        Assert.Equal("ready", u.GetProperty("phase").GetString());
        Assert.False(await ServesAsync("ft-b"));
    }

    [Fact]
    public async Task LocalModelBehindALink_IsMountedFromItsRealPath_AndRefusedOnceTheLinkLeadsOutOfItsRoots()
    {
        _bin.SetDockerRunEnvironment(("SPARKCONTROL_SIM_LOAD_SECONDS", "1"));
        await using var app = await StartAppAsync();
        using var client = app.CreateClient();
        var link = Path.Combine(Models, "current");

        using var first = await client.PostAsJsonAsync("/api/swaps", new { model = "current", spark = "spark-1" });
        var served = await SwapApi.WaitForReadyAsync(client, (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!, "the linked model is loaded");
        var source = (await docker.DockerAsync(["inspect", "-f", $"{{{{range .Mounts}}}}{{{{if eq .Destination \"{link}\"}}}}{{{{.Source}}}}{{{{end}}}}{{{{end}}}}", LaunchSpecs.ModelContainerName])).Stdout.Trim();
        using var unload = await client.PostAsync("/api/sparks/spark-1/unload", null);
        await SwapApi.WaitForReadyAsync(client, (await unload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!, "the model is unloaded");

        // Registered while it led inside; changed since (by hand, or by a training job) to lead outside.
        File.Delete(link);
        File.CreateSymbolicLink(link, _tree.File("outside"));
        using var second = await client.PostAsJsonAsync("/api/swaps", new { model = "current", spark = "spark-1" });
        var refused = await SwapApi.WaitForAsync(client, (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!, SwapApi.Ended, "the swap ends");
        var preview = await client.GetFromJsonAsync<JsonElement>("/api/models/current/command?spark=spark-1");

        Assert.Equal("ready", served.GetProperty("phase").GetString());
        Assert.Equal(Path.Combine(Models, "ft-a"), source);
        Assert.Equal("failed", refused.GetProperty("phase").GetString());
        Assert.Contains($"{link} resolves to {_tree.File("outside")}, which is outside the allow-listed roots", refused.GetRawText(), StringComparison.Ordinal);
        Assert.Contains(preview.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("outside the allow-listed roots", StringComparison.Ordinal));
        Assert.False(await ServesAsync("current"));
    }

    /// <summary>A PEFT output as a fine-tuning run leaves it: adapter_config.json naming its base, and the adapter weights.</summary>
    private async Task<string> CreateAdapterAsync(string name, string trainedOn, int rank)
    {
        var path = Path.Combine(Models, name);
        Directory.CreateDirectory(path);
        await File.WriteAllTextAsync(Path.Combine(path, "adapter_config.json"), JsonSerializer.Serialize(new { base_model_name_or_path = trainedOn, peft_type = "LORA", r = rank, lora_alpha = 32 }));
        await File.WriteAllBytesAsync(Path.Combine(path, "adapter_model.safetensors"), new byte[20_000]);
        return path;
    }

    [Fact]
    public async Task LoraAdapter_AttachedWhileTheBaseServes_StartsItAgainWithTheAdapterMounted_ServedByNameThroughTheGateway()
    {
        _bin.SetDockerRunEnvironment(("SPARKCONTROL_SIM_LOAD_SECONDS", "1"));
        var adapter = await CreateAdapterAsync("legal-lora", Path.Combine(Models, "ft-a"), 8);
        await using var app = await StartAppAsync();
        using var client = app.CreateClient();
        using var first = await client.PostAsJsonAsync("/api/swaps", new { model = "ft-a", spark = "spark-1" });
        await SwapApi.WaitForReadyAsync(client, (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!, "ft-a is loaded");

        using var attach = await client.PostAsJsonAsync("/api/models/ft-a/adapters", new { name = "legal", spark = "spark-1", path = adapter });
        var change = await attach.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(System.Net.HttpStatusCode.Created, attach.StatusCode);
        var restart = await SwapApi.WaitForReadyAsync(client, change.GetProperty("swapId").GetString()!, "ft-a starts again with its adapter");
        var command = (await docker.DockerAsync(["inspect", "-f", "{{json .Config.Cmd}}", LaunchSpecs.ModelContainerName])).Stdout;
        var mount = (await docker.DockerAsync(["inspect", "-f", $"{{{{range .Mounts}}}}{{{{if eq .Destination \"{adapter}\"}}}}{{{{.Source}}}} {{{{.RW}}}}{{{{end}}}}{{{{end}}}}", LaunchSpecs.ModelContainerName])).Stdout.Trim();
        await Wait.UntilAsync(async () => (await client.GetStringAsync("/v1/models")).Contains("\"legal\"", StringComparison.Ordinal), "the gateway lists the adapter", Wait.ContainerTimeout);
        var sdk = new OpenAI.OpenAIClient(new System.ClientModel.ApiKeyCredential("not-checked"), new OpenAI.OpenAIClientOptions { Endpoint = new Uri(app.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(60) });
        OpenAI.Chat.ChatCompletion answer = await sdk.GetChatClient("legal").CompleteChatAsync([new OpenAI.Chat.UserChatMessage("Summarize the clause")], new OpenAI.Chat.ChatCompletionOptions { MaxOutputTokenCount = 4 });

        Assert.Equal("ft-a", restart.GetProperty("previousModelId").GetString());
        Assert.Contains($"\"--enable-lora\",\"--max-lora-rank\",\"8\",\"--lora-modules\",\"legal={adapter}\"", command, StringComparison.Ordinal);
        Assert.Equal($"{adapter} false", mount);
        Assert.Equal("legal", answer.Model);
        Assert.True(await ServesAsync("legal"));
    }

    [Fact]
    public async Task LoraAdapter_WhoseRankGrewOnDiskAfterItWasAttached_FailsTheStartWithVllmsError_AndOneThatIsGoneBlocksIt()
    {
        _bin.SetDockerRunEnvironment(("SPARKCONTROL_SIM_LOAD_SECONDS", "1"));
        var adapter = await CreateAdapterAsync("sql-lora", Path.Combine(Models, "ft-b"), 16);
        await using var app = await StartAppAsync();
        using var client = app.CreateClient();
        using var attach = await client.PostAsJsonAsync("/api/models/ft-b/adapters", new { name = "sql", spark = "spark-1", path = adapter });
        Assert.Equal(System.Net.HttpStatusCode.Created, attach.StatusCode);

        // Retrained in place with a larger rank: the launch still says 16, and vLLM refuses the adapter at start.
        await File.WriteAllTextAsync(Path.Combine(adapter, "adapter_config.json"), JsonSerializer.Serialize(new { base_model_name_or_path = Path.Combine(Models, "ft-b"), peft_type = "LORA", r = 64 }));
        using var grown = await client.PostAsJsonAsync("/api/swaps", new { model = "ft-b", spark = "spark-1" });
        var failed = await SwapApi.WaitForAsync(client, (await grown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!, SwapApi.Ended, "the swap ends");
        Directory.Delete(adapter, recursive: true);
        using var gone = await client.PostAsJsonAsync("/api/swaps", new { model = "ft-b", spark = "spark-1" });
        var blocked = await SwapApi.WaitForAsync(client, (await gone.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!, SwapApi.Ended, "the swap ends");

        Assert.Equal("failed", failed.GetProperty("phase").GetString());
        Assert.Contains("LoRA rank 64 is greater than max_lora_rank 16", failed.GetRawText(), StringComparison.Ordinal);
        Assert.Equal("failed", blocked.GetProperty("phase").GetString());
        Assert.Contains($"adapter sql: {adapter} does not exist on spark-1", blocked.GetRawText(), StringComparison.Ordinal);
        Assert.False(await ServesAsync("ft-b"));
    }

    [Fact]
    public async Task AppRestart_MidSwap_MarksItInterrupted_AndTheRestartedPanelFollowsTheContainerToReady()
    {
        // Loading takes long enough that the panel is gone before it ends; the container keeps loading meanwhile.
        _bin.SetDockerRunEnvironment(("SPARKCONTROL_SIM_LOAD_SECONDS", "10"));
        string id;
        string containerId;
        await using (var app = await StartAppAsync())
        {
            using var client = app.CreateClient();
            using var start = await client.PostAsJsonAsync("/api/swaps", new { model = "ft-a", spark = "spark-1" });
            id = (await start.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            await SwapApi.WaitForAsync(client, id, s => s.GetProperty("phase").GetString() == "loading" || SwapApi.Ended(s), "the swap is loading");
            containerId = (await docker.DockerAsync(["inspect", "-f", "{{.Id}}", LaunchSpecs.ModelContainerName])).Stdout.Trim();
        }

        var stillLoading = !await ServesAsync("ft-a");
        await using var restarted = await StartAppAsync();
        using var after = restarted.CreateClient();
        var interrupted = await SwapApi.WaitForAsync(after, id, SwapApi.Ended, "the old swap is reconciled");
        JsonElement verify = default;
        await Wait.UntilAsync(async () =>
        {
            var current = await after.GetFromJsonAsync<JsonElement>("/api/swaps/current");
            return current.TryGetProperty("spark-1", out verify) && verify.GetProperty("requester").GetString() == "reconcile" && SwapApi.Ended(verify);
        }, "the restarted panel re-verifies what runs", TimeSpan.FromSeconds(120));

        Assert.True(stillLoading);
        Assert.Equal("interrupted", interrupted.GetProperty("phase").GetString());
        Assert.Equal("interrupted: the panel stopped during Loading", interrupted.GetProperty("message").GetString());
        Assert.Equal("ready", verify.GetProperty("phase").GetString());
        Assert.Equal(["requested", "preflight", "loading", "verifying", "ready"], verify.GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("phase").GetString()));
        Assert.True(await ServesAsync("ft-a"));
        Assert.Equal(containerId, (await docker.DockerAsync(["inspect", "-f", "{{.Id}}", LaunchSpecs.ModelContainerName])).Stdout.Trim());
    }

    [Fact]
    public async Task PanelKilled_BetweenStoppingAndLaunching_TheNextStartSaysNothingServes_AndBringsThePreviousModelBack()
    {
        _bin.SetDockerRunEnvironment(("SPARKCONTROL_SIM_LOAD_SECONDS", "1"));
        _bin.HoldAfterDockerStop();
        string id;
        string caught;
        await using (var panel = await PanelProcess.StartAsync(_data.Path, SparkOnDocker.AppSettings()))
        {
            using var client = panel.CreateClient();
            using var first = await client.PostAsJsonAsync("/api/swaps", new { model = "ft-a", spark = "spark-1" });
            await SwapApi.WaitForReadyAsync(client, (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!, "ft-a is loaded");
            await File.WriteAllTextAsync(_bin.File("docker.hold"), string.Empty);
            using var second = await client.PostAsJsonAsync("/api/swaps", new { model = "ft-b", spark = "spark-1" });
            id = (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

            // ft-a is stopped, ft-b not yet started: the panel dies here.
            await Wait.UntilAsync(() => File.Exists(_bin.File("docker.held")), "docker stop has stopped ft-a", Wait.ContainerTimeout);
            caught = (await client.GetFromJsonAsync<JsonElement>($"/api/swaps/{id}")).GetProperty("phase").GetString()!;
            await panel.KillAsync();
        }

        File.Delete(_bin.File("docker.hold"));
        var servedMeanwhile = await ServesAsync("ft-a") || await ServesAsync("ft-b");
        await using var restarted = await StartAppAsync();
        using var after = restarted.CreateClient();
        var interrupted = await SwapApi.WaitForAsync(after, id, s => s.TryGetProperty("bringBack", out var back) && back.ValueKind == JsonValueKind.String, "the restarted panel offers ft-a back");

        // The operator opens the dashboard: the card says nothing serves and offers ft-a back, through the swap dialog.
        var page = await NewPageAsync(restarted.BaseAddress);
        await page.GotoAsync("/");
        var offer = page.GetByTestId("swap-nothing-serves");
        await Microsoft.Playwright.Assertions.Expect(offer).ToContainTextAsync("Nothing serves on spark-1 since the panel stopped during this swap.");
        await Microsoft.Playwright.Assertions.Expect(page.GetByTestId("swap-bring-back")).ToHaveTextAsync("Bring back ft-a", new() { IgnoreCase = true });
        await page.SaveScreenshotAsync("dashboard-bring-back.png");
        await page.GetByTestId("swap-bring-back").ClickAsync();
        await Microsoft.Playwright.Assertions.Expect(page.GetByTestId("swap-dialog-previous")).ToHaveTextAsync("Serving now: nothing");
        await page.GetByTestId("swap-dialog-start").ClickAsync();
        JsonElement restored = default;
        await Wait.UntilAsync(async () =>
        {
            var current = await after.GetFromJsonAsync<JsonElement>("/api/swaps/current");
            return current.TryGetProperty("spark-1", out restored) && restored.GetProperty("id").GetString() != id && SwapApi.Ended(restored);
        }, "the swap the card started ends", Wait.ContainerTimeout);
        await page.Context.CloseAsync();

        Assert.Equal("stopping", caught);
        Assert.False(servedMeanwhile);
        Assert.Equal("interrupted", interrupted.GetProperty("phase").GetString());
        Assert.Equal("interrupted: the panel stopped during Stopping, and nothing serves on spark-1 now; ft-a served before it and can be brought back", interrupted.GetProperty("message").GetString());
        Assert.Equal("ft-a", interrupted.GetProperty("bringBack").GetString());
        Assert.Equal("ready", restored.GetProperty("phase").GetString());
        Assert.Equal("ft-a", restored.GetProperty("modelId").GetString());
        Assert.True(await ServesAsync("ft-a"));
        Assert.Contains(interrupted.GetProperty("message").GetString()!, await after.GetStringAsync("/api/swaps/history?model=ft-b"), StringComparison.Ordinal);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await docker.DockerAsync(["rm", "-f", LaunchSpecs.ModelContainerName], check: false);
        _bin.Dispose();
        _data.Dispose();
        _tree.Dispose();
    }
}
