using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using SparkControl.Sim.Audio;

namespace SparkControl.Sim.Server;

/// <summary>What a simulated service looks like from outside: its startup log lines and the paths it answers.</summary>
public sealed record SimServiceProfile(string Name, IReadOnlyList<string> StartupLog, IReadOnlyDictionary<string, Func<IResult>> Routes, string ReadyLine)
{
    /// <summary>Endpoints beyond the GET routes (the audio workers' POSTs).</summary>
    public Action<IEndpointRouteBuilder>? Map { get; init; }

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

    /// <summary>Qdrant: <c>/readyz</c>, <c>/healthz</c>, <c>/livez</c> and its root banner.</summary>
    public static SimServiceProfile Qdrant(TimeProvider time) => new(
        "qdrant",
        ["           _                 _    ", "  __ _  __| |_ __ __ _ _ __ | |_  ", " / _` |/ _` | '__/ _` | '_ \\| __| ", "| (_| | (_| | | | (_| | | | | |_  ", " \\__, |\\__,_|_|  \\__,_|_| |_|\\__| ", "    |_|                           ",
            $"{time.GetUtcNow():yyyy-MM-ddTHH:mm:ss.ffffffZ}  INFO storage::content_manager::consensus::persistent: Loading raft state from ./storage/raft_state.json"],
        new Dictionary<string, Func<IResult>>
        {
            ["/"] = () => Results.Json(new { title = "qdrant - vector search engine", version = "1.15.5", commit = "simulated" }),
            ["/readyz"] = () => Results.Text("all shards are ready"),
            ["/healthz"] = () => Results.Text("healthz check passed"),
            ["/livez"] = () => Results.Text("healthz check passed"),
        },
        $"{time.GetUtcNow():yyyy-MM-ddTHH:mm:ss.ffffffZ}  INFO actix_server::builder: starting service: \"actix-web-service-0.0.0.0:{{port}}\"");

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

    /// <summary>The profile for an image by its name, as the demo's images are named; null for anything else.</summary>
    public static SimServiceProfile? ForImage(string image, TimeProvider time, ISimTranscriber? transcriber = null) => image.ToLowerInvariant() switch
    {
        var i when i.Contains("parakeet", StringComparison.Ordinal) || i.Contains("asr", StringComparison.Ordinal) => ParakeetAsr(time, transcriber),
        var i when i.Contains("tts", StringComparison.Ordinal) || i.Contains("kokoro", StringComparison.Ordinal) => Tts(time),
        var i when i.Contains("qdrant", StringComparison.Ordinal) => Qdrant(time),
        var i when i.Contains("open-webui", StringComparison.Ordinal) => OpenWebUi(time),
        _ => null,
    };
}

/// <summary>
/// A service's outside as the panel sees it: it starts after a load time, then answers its health paths (and little
/// else; the audio workers their OpenAI audio endpoints) on loopback until stopped.
/// </summary>
public sealed class SimServiceServer(SimServiceProfile profile, TimeSpan loadTime, TimeProvider time, Action<string> log, IPEndPoint bind)
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
            builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(bind));
            builder.Services.AddRoutingCore();
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
