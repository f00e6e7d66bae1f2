using System.Globalization;
using System.Net;
using SparkControl.Sim.Server;
using SparkControl.Sim.Vllm;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Sim;

/// <summary>
/// A real <see cref="SimModelServer"/> answering chat completions from a <see cref="SimChatScript"/>, on a free loopback
/// port, loaded and serving before <see cref="StartAsync"/> returns. Real time, so scripted delays and client timeouts
/// meet as they do against a real server.
/// </summary>
public sealed class ScriptedSimServer : IAsyncDisposable
{
    public const string Model = "referee-llm";

    private readonly CancellationTokenSource _stop = new();
    private Task<int> _run = Task.FromResult(0);

    private ScriptedSimServer(SimModelServer server, int port)
    {
        Server = server;
        BaseUri = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        Client = new HttpClient { BaseAddress = BaseUri, Timeout = Wait.DefaultTimeout };
    }

    public SimModelServer Server { get; }

    public Uri BaseUri { get; }

    public HttpClient Client { get; }

    public static async Task<ScriptedSimServer> StartAsync(SimChatScript script)
    {
        var port = Tools.FreePort();
        var (options, error) = VllmCli.Parse(["serve", "Qwen/Qwen3-8B", "--served-model-name", Model, "--port", port.ToString(CultureInfo.InvariantCulture)]);
        Assert.True(options is not null, error?.Message);
        var behaviour = new SimBehaviour { LoadTime = TimeSpan.Zero, TokensPerSecond = double.PositiveInfinity, ChatScript = script };
        var sim = new ScriptedSimServer(new SimModelServer(options, behaviour, TimeProvider.System, _ => { }, new IPEndPoint(IPAddress.Loopback, port)), port);
        sim._run = sim.Server.RunAsync(sim._stop.Token);
        await Wait.UntilAsync(() => sim.Server.State == SimServerState.Serving || sim._run.IsCompleted, "the simulated chat model serves");
        Assert.Equal(SimServerState.Serving, sim.Server.State);
        return sim;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(Wait.DefaultTimeout);
        await Server.DisposeAsync();
        Client.Dispose();
        _stop.Dispose();
    }
}
