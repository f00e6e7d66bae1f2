using System.Globalization;
using System.Net;
using Qdrant.Client;
using SparkControl.Sim.Qdrant;
using SparkControl.Sim.Server;

namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// The Sim's Qdrant on two loopback ports of a test's own (REST and gRPC, as Qdrant's 6333 and 6334), over a store
/// whose snapshots are real files in a temporary directory.
/// </summary>
public sealed class TestQdrant : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<int> _running;
    private readonly TempDirectory _storage = new("sc-qdrant");

    private TestQdrant(SimQdrantAccess access)
    {
        Store = new SimQdrantStore(_storage.Path, TimeProvider.System);
        RestPort = Tools.FreePort();
        GrpcPort = Tools.FreePort();
        var profile = SimServiceProfile.Qdrant(TimeProvider.System, Store, access, RestPort);
        var server = new SimServiceServer(profile, TimeSpan.Zero, TimeProvider.System, _ => { }, new IPEndPoint(IPAddress.Loopback, RestPort), new IPEndPoint(IPAddress.Loopback, GrpcPort));
        _running = server.RunAsync(_stop.Token);
    }

    public const string ApiKey = "test-qdrant-key-5f1c";
    public const string ReadOnlyApiKey = "test-qdrant-read-only-9a2e";

    public SimQdrantStore Store { get; }

    public int RestPort { get; }

    public int GrpcPort { get; }

    public Uri Rest => new($"http://127.0.0.1:{RestPort.ToString(CultureInfo.InvariantCulture)}/");

    public Uri Grpc => new($"http://127.0.0.1:{GrpcPort.ToString(CultureInfo.InvariantCulture)}/");

    /// <summary>A Qdrant started with <paramref name="access"/> (none: open), once both its ports take connections.</summary>
    public static async Task<TestQdrant> StartAsync(SimQdrantAccess? access = null)
    {
        var qdrant = new TestQdrant(access ?? new SimQdrantAccess(null, null));
        await Wait.UntilAsync(async () => await Tools.AcceptsConnectionsAsync(qdrant.RestPort) && await Tools.AcceptsConnectionsAsync(qdrant.GrpcPort), "the Sim's Qdrant listens on both ports");
        return qdrant;
    }

    /// <summary>A Qdrant that asks for <see cref="ApiKey"/> (and takes <see cref="ReadOnlyApiKey"/> for reading).</summary>
    public static Task<TestQdrant> StartSecuredAsync() => StartAsync(new SimQdrantAccess(ApiKey, ReadOnlyApiKey));

    /// <summary>
    /// Waits until the demo's search works end to end: the gateway routes its embeddings model and health has seen its
    /// Qdrant answer (the Sim's Qdrant listens a moment after its container starts, on REST and gRPC at once).
    /// </summary>
    public static Task WaitForDemoAsync(SparkControlApp app) => Wait.UntilAsync(
        () => app.Get<SparkControl.Core.Gateway.GatewayRoutes>().Resolve("bge-small") is SparkControl.Core.Gateway.GatewayResolution.Route
            && app.Get<SparkControl.Core.Services.HealthMonitor>().Current.Value.Find("demo", "qdrant")?.Status == SparkControl.Core.Services.HealthStatus.Healthy,
        "the demo's embeddings are routed and its Qdrant is healthy",
        TimeSpan.FromSeconds(90));

    public QdrantClient Client(string? apiKey = null) => new(Grpc, apiKey, TimeSpan.FromSeconds(30));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _running;
        _stop.Dispose();
        _storage.Dispose();
    }
}
