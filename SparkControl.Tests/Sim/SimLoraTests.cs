using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Sim.Server;
using SparkControl.Sim.Vllm;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Sim;

/// <summary>The simulator's vLLM with LoRA: the flags parsed and refused as vLLM does, adapters loaded at start, listed and served by name.</summary>
public sealed class SimLoraTests
{
    private static readonly Dictionary<string, string> Files = new(StringComparer.Ordinal)
    {
        ["/models/legal/adapter_config.json"] = """{"peft_type":"LORA","r":16,"base_model_name_or_path":"Qwen/Qwen3-8B"}""",
        ["/models/wide/adapter_config.json"] = """{"peft_type":"LORA","r":64}""",
        ["/models/broken/adapter_config.json"] = "not json",
    };

    private static VllmServeOptions Parse(params string[] args)
    {
        var (options, error) = VllmCli.Parse(["serve", "Qwen/Qwen3-8B", "--served-model-name", "qwen3-8b", .. args]);
        Assert.Null(error);
        return options!;
    }

    [Fact]
    public void Parse_ReadsEveryModuleInBothForms_AndTheRank()
    {
        var options = Parse("--enable-lora", "--max-lora-rank", "32", "--lora-modules", "legal=/models/legal", """{"name":"sql","path":"/models/sql"}""", "--port", "8001");

        Assert.True(options.EnableLora);
        Assert.Equal(32, options.MaxLoraRank);
        Assert.Equal([new VllmLoraModule("legal", "/models/legal"), new VllmLoraModule("sql", "/models/sql")], options.LoraModules.ToArray());
        Assert.Equal(8001, options.Port);
        Assert.Equal(16, Parse().MaxLoraRank);
    }

    [Theory]
    [InlineData("legal")]
    [InlineData("=/models/legal")]
    [InlineData("legal=")]
    [InlineData("a=b=c")]
    [InlineData("""{"name":"sql"}""")]
    public void Parse_AModuleInNeitherForm_IsArgparsesError(string module)
    {
        var (_, error) = VllmCli.Parse(["serve", "m", "--enable-lora", "--lora-modules", module]);

        Assert.Equal(2, error!.ExitCode);
        Assert.Contains("Invalid format for --lora-modules", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EngineConfig_RefusesARankVllmDoesNotAllow_AndModulesWithoutEnableLora()
    {
        Assert.Contains("max_lora_rank (24) must be one of (1, 8, 16, 32, 64, 128, 256, 320, 512)",
            VllmCli.ValidateEngineConfig(Parse("--enable-lora", "--max-lora-rank", "24")), StringComparison.Ordinal);
        Assert.Contains("--enable-lora", VllmCli.ValidateEngineConfig(Parse("--lora-modules", "legal=/models/legal")), StringComparison.Ordinal);
        Assert.Null(VllmCli.ValidateEngineConfig(Parse("--enable-lora", "--lora-modules", "legal=/models/legal")));
    }

    private static async Task<(SimModelServer Server, Task<int> Run, List<string> Log, CancellationTokenSource Stop, int Port)> StartAsync(params string[] args)
    {
        var port = Tools.FreePort();
        var options = Parse(["--port", port.ToString(CultureInfo.InvariantCulture), .. args]);
        var log = new List<string>();
        var stop = new CancellationTokenSource();
        var server = new SimModelServer(options, new SimBehaviour { LoadTime = TimeSpan.Zero, TokensPerSecond = double.PositiveInfinity }, TimeProvider.System,
            line => { lock (log) { log.Add(line); } }, new IPEndPoint(IPAddress.Loopback, port), readFile: path => Files.GetValueOrDefault(path));
        var run = server.RunAsync(stop.Token);
        await Wait.UntilAsync(() => server.State is SimServerState.Serving or SimServerState.Exited, "the server serves or exits");
        return (server, run, log, stop, port);
    }

    [Fact]
    public async Task Adapters_AreListedWithTheBaseAsParent_AndServedByTheirNames()
    {
        var (server, run, log, stop, port) = await StartAsync("--enable-lora", "--max-lora-rank", "64", "--lora-modules", "legal=/models/legal", "wide=/models/wide");
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        var models = await client.GetFromJsonAsync<JsonElement>("/v1/models");
        using var chat = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "legal", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 3 });
        using var unknown = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "other", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 3 });

        var listed = models.GetProperty("data").EnumerateArray().Select(m => (m.GetProperty("id").GetString(), m.GetProperty("root").GetString(), m.GetProperty("parent").GetString())).ToList();
        Assert.Equal([("qwen3-8b", "Qwen/Qwen3-8B", null), ("legal", "/models/legal", "qwen3-8b"), ("wide", "/models/wide", "qwen3-8b")], listed);
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        Assert.Equal("legal", (await chat.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("model").GetString());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        lock (log)
        {
            Assert.Contains(log, l => l.Contains("Loaded new LoRA adapter: name 'legal', path '/models/legal'", StringComparison.Ordinal));
        }

        await stop.CancelAsync();
        Assert.Equal(0, await run);
        await server.DisposeAsync();
    }

    [Theory]
    [InlineData("wide=/models/wide", "LoRA rank 64 is greater than max_lora_rank 16.")]
    [InlineData("gone=/models/gone", "Loading lora gone failed: No adapter found for /models/gone")]
    [InlineData("broken=/models/broken", "is not a valid PEFT config")]
    [InlineData("qwen3-8b=/models/legal", "has already been loaded")]
    public async Task AnAdapterVllmCannotLoad_FailsTheStartWithItsError(string module, string error)
    {
        var (server, run, log, stop, _) = await StartAsync("--enable-lora", "--lora-modules", module);

        Assert.Equal(1, await run);
        lock (log)
        {
            Assert.Contains(log, l => l.Contains(error, StringComparison.Ordinal));
        }

        stop.Dispose();
        await server.DisposeAsync();
    }
}
