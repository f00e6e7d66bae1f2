using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace SparkControl.Sim.Server;

/// <summary>What a simulated service looks like from outside: its startup log lines and the paths it answers.</summary>
public sealed record SimServiceProfile(string Name, IReadOnlyList<string> StartupLog, IReadOnlyDictionary<string, Func<IResult>> Routes, string ReadyLine)
{
    /// <summary>Parakeet ASR: <c>/health</c> and <c>/v1/models</c>.</summary>
    public static SimServiceProfile ParakeetAsr(TimeProvider time) => new(
        "parakeet-asr",
        [$"[NeMo I {time.GetUtcNow():yyyy-MM-dd HH:mm:ss}] Loading nvidia/parakeet-tdt-0.6b-v2"],
        new Dictionary<string, Func<IResult>>
        {
            ["/health"] = () => Results.Json(new { status = "ok", model = "nvidia/parakeet-tdt-0.6b-v2" }),
            ["/v1/models"] = () => Results.Json(new { @object = "list", data = new[] { new { id = "nvidia/parakeet-tdt-0.6b-v2", @object = "model", owned_by = "nvidia" } } }),
        },
        "INFO:     Uvicorn running on http://0.0.0.0:{port} (Press CTRL+C to quit)");

    /// <summary>A Kokoro-style TTS server: <c>/health</c> and its voices.</summary>
    public static SimServiceProfile Tts(TimeProvider time) => new(
        "tts",
        ["INFO:     Loading Kokoro-82M (simulated)"],
        new Dictionary<string, Func<IResult>>
        {
            ["/health"] = () => Results.Json(new { status = "healthy" }),
            ["/v1/audio/voices"] = () => Results.Json(new { voices = new[] { "af_heart", "am_michael" } }),
        },
        "INFO:     Uvicorn running on http://0.0.0.0:{port} (Press CTRL+C to quit)");

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
    public static SimServiceProfile? ForImage(string image, TimeProvider time) => image.ToLowerInvariant() switch
    {
        var i when i.Contains("parakeet", StringComparison.Ordinal) || i.Contains("asr", StringComparison.Ordinal) => ParakeetAsr(time),
        var i when i.Contains("tts", StringComparison.Ordinal) || i.Contains("kokoro", StringComparison.Ordinal) => Tts(time),
        var i when i.Contains("qdrant", StringComparison.Ordinal) => Qdrant(time),
        var i when i.Contains("open-webui", StringComparison.Ordinal) => OpenWebUi(time),
        _ => null,
    };
}

/// <summary>
/// A service's outside as the panel sees it: it starts after a load time, then answers its health paths (and little
/// else) on loopback until stopped. The audio endpoints arrive with the audio issues.
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
