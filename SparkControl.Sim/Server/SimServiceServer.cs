using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Grpc.AspNetCore.Server.Model;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using SparkControl.Sim.Audio;
using SparkControl.Sim.Qdrant;

namespace SparkControl.Sim.Server;

/// <summary>What a simulated service looks like from outside: its startup log lines and the paths it answers.</summary>
public sealed record SimServiceProfile(string Name, IReadOnlyList<string> StartupLog, IReadOnlyDictionary<string, Func<IResult>> Routes, string ReadyLine)
{
    /// <summary>Endpoints beyond the GET routes (the audio workers' POSTs, Qdrant's snapshot routes and gRPC services).</summary>
    public Action<IEndpointRouteBuilder>? Map { get; init; }

    /// <summary>Services the endpoints of <see cref="Map"/> need (Qdrant's gRPC).</summary>
    public Action<IServiceCollection>? Services { get; init; }

    /// <summary>The container port of a second, HTTP/2-only listener for gRPC (Qdrant's 6334 beside REST's 6333); null for none.</summary>
    public int? GrpcPort { get; init; }

    /// <summary>Parakeet ASR: <c>/health</c>, <c>/v1/models</c> and the OpenAI transcription endpoints, decoded by <paramref name="transcriber"/>.</summary>
    public static SimServiceProfile ParakeetAsr(TimeProvider time, ISimTranscriber? transcriber = null) => new(
        "parakeet-asr",
        [$"[NeMo I {time.GetUtcNow():yyyy-MM-dd HH:mm:ss}] Loading nvidia/parakeet-tdt-0.6b-v2"],
        new Dictionary<string, Func<IResult>>
        {
            ["/health"] = () => Results.Json(new { status = "ok", model = "nvidia/parakeet-tdt-0.6b-v2" }),
        },
        "INFO:     Uvicorn running on http://0.0.0.0:{port} (Press CTRL+C to quit)")
    {
        Map = app => SimAudioEndpoints.MapAsr(app, transcriber ?? new PocketsphinxTranscriber(), "parakeet-tdt-0.6b-v2"),
    };

    /// <summary>A Kokoro-style TTS server: <c>/health</c>, its voices and <c>/v1/audio/speech</c> spoken by espeak-ng.</summary>
    public static SimServiceProfile Tts(TimeProvider time) => new(
        "tts",
        ["INFO:     Loading Kokoro-82M (simulated)"],
        new Dictionary<string, Func<IResult>>
        {
            ["/health"] = () => Results.Json(new { status = "healthy" }),
        },
        "INFO:     Uvicorn running on http://0.0.0.0:{port} (Press CTRL+C to quit)")
    {
        Map = SimAudioEndpoints.MapTts,
    };

    /// <summary>
    /// Qdrant: <c>/readyz</c>, <c>/healthz</c>, <c>/livez</c> and its root banner on REST (<paramref name="port"/>), the
    /// snapshot routes beside them, and Qdrant's gRPC services on the next port (6333 and 6334, as Qdrant pairs them),
    /// over <paramref name="store"/>, which outlives the container as Qdrant's storage volume does.
    /// </summary>
    public static SimServiceProfile Qdrant(TimeProvider time, SimQdrantStore store, SimQdrantAccess access, int port = 6333) => new(
        "qdrant",
        ["           _                 _    ", "  __ _  __| |_ __ __ _ _ __ | |_  ", " / _` |/ _` | '__/ _` | '_ \\| __| ", "| (_| | (_| | | | (_| | | | | |_  ", " \\__, |\\__,_|_|  \\__,_|_| |_|\\__| ", "    |_|                           ",
            $"{time.GetUtcNow():yyyy-MM-ddTHH:mm:ss.ffffffZ}  INFO storage::content_manager::consensus::persistent: Loading raft state from ./storage/raft_state.json"],
        new Dictionary<string, Func<IResult>>
        {
            ["/"] = () => Results.Json(new { title = "qdrant - vector search engine", version = SimQdrantStore.Version, commit = "simulated" }),
            ["/readyz"] = () => Results.Text("all shards are ready"),
            ["/healthz"] = () => Results.Text("healthz check passed"),
            ["/livez"] = () => Results.Text("healthz check passed"),
        },
        $"{time.GetUtcNow():yyyy-MM-ddTHH:mm:ss.ffffffZ}  INFO actix_server::builder: starting service: \"actix-web-service-0.0.0.0:{{port}}\"")
    {
        GrpcPort = port + 1,
        Services = services =>
        {
            services.AddGrpc();
            services.AddSingleton(new SimQdrantService(store, access));
            services.AddSingleton<IServiceMethodProvider<SimQdrantService>, SimQdrantMethods>();
        },
        Map = app =>
        {
            SimQdrantRest.Map(app, store, access);
            app.MapGrpcService<SimQdrantService>();
        },
    };

    /// <summary>Open WebUI: <c>/health</c> and a page to link out to.</summary>
    public static SimServiceProfile OpenWebUi(TimeProvider time) => new(
        "open-webui",
        ["Loading WEBUI_SECRET_KEY from file, not provided as an environment variable.", "INFO  [open_webui.env] 'ENABLE_SIGNUP' loaded from the latest database entry"],
        new Dictionary<string, Func<IResult>>
        {
            ["/health"] = () => Results.Json(new { status = true }),
            ["/"] = () => Results.Content("<!doctype html><title>Open WebUI</title><h1>Open WebUI (simulated)</h1><p>The demo Spark's chat front end.</p>", "text/html"),
        },
        "INFO:     Uvicorn running on http://0.0.0.0:{port} (Press CTRL+C to quit)");

    /// <summary>The profile for a container by its image's name, as the demo's images are named; null for anything else.</summary>
    public static SimServiceProfile? ForImage(string image, int port, SimServiceContext context) => image.ToLowerInvariant() switch
    {
        var i when i.Contains("parakeet", StringComparison.Ordinal) || i.Contains("asr", StringComparison.Ordinal) => ParakeetAsr(context.Time, context.Transcriber),
        var i when i.Contains("tts", StringComparison.Ordinal) || i.Contains("kokoro", StringComparison.Ordinal) => Tts(context.Time),
        var i when i.Contains("qdrant", StringComparison.Ordinal) => Qdrant(context.Time, context.QdrantStore(), SimQdrantAccess.FromEnvironment(context.Environment), port),
        var i when i.Contains("open-webui", StringComparison.Ordinal) => OpenWebUi(context.Time),
        _ => null,
    };
}

/// <summary>What a service's profile may need from the host that starts it: the clock, the ASR worker's recogniser, the
/// container's Qdrant storage and its environment.</summary>
public sealed record SimServiceContext(TimeProvider Time, ISimTranscriber? Transcriber, Func<SimQdrantStore> QdrantStore, Func<string, string?> Environment);

/// <summary>
/// A service's outside as the panel sees it: it starts after a load time, then answers its health paths (and little
/// else; the audio workers their OpenAI audio endpoints) on loopback until stopped.
/// </summary>
public sealed class SimServiceServer(SimServiceProfile profile, TimeSpan loadTime, TimeProvider time, Action<string> log, IPEndPoint bind, IPEndPoint? grpcBind = null)
{
    public async Task<int> RunAsync(CancellationToken stop)
    {
        foreach (var line in profile.StartupLog)
        {
            log(line);
        }

        WebApplication? app = null;
        try
        {
            await Task.Delay(loadTime, time, stop).ConfigureAwait(false);
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "SparkControl.Sim" });
            LoopbackPort.UseSharedBind(builder.WebHost);
            builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
            {
                k.Listen(bind);
                if (grpcBind is not null)
                {
                    // gRPC without TLS is HTTP/2 with prior knowledge, which a listener speaking HTTP/1.1 too cannot offer.
                    k.Listen(grpcBind, listen => listen.Protocols = HttpProtocols.Http2);
                }
            });
            builder.Services.AddRoutingCore();
            profile.Services?.Invoke(builder.Services);
            app = builder.Build();
            app.UseRouting();
            foreach (var (path, answer) in profile.Routes)
            {
                app.MapGet(path, answer);
            }

            profile.Map?.Invoke(app);

            await app.StartAsync(stop).ConfigureAwait(false);
            log(profile.ReadyLine.Replace("{port}", bind.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
            await Task.Delay(Timeout.InfiniteTimeSpan, time, stop).ConfigureAwait(false);
            return 0;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            log("INFO:     Shutting down");
            return 0;
        }
        finally
        {
            if (app is not null)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await app.StopAsync(timeout.Token).ConfigureAwait(false);
                await app.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
