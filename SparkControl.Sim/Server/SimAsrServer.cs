using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace SparkControl.Sim.Server;

/// <summary>
/// A speech service's outside: it loads, then answers <c>/health</c> and <c>/v1/models</c>. The audio endpoints arrive
/// with the audio issues; until then the simulator only shows the service's health.
/// </summary>
public sealed class SimAsrServer(string modelName, TimeSpan loadTime, TimeProvider time, Action<string> log, IPEndPoint bind)
{
    public async Task<int> RunAsync(CancellationToken stop)
    {
        log($"[NeMo I {time.GetUtcNow():yyyy-MM-dd HH:mm:ss}] Loading {modelName}");
        WebApplication? app = null;
        try
        {
            await Task.Delay(loadTime, time, stop).ConfigureAwait(false);
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "SparkControl.Sim" });
            builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(bind));
            builder.Services.AddRoutingCore();
            app = builder.Build();
            app.UseRouting();
            app.MapGet("/health", () => Results.Json(new { status = "ok", model = modelName }));
            app.MapGet("/v1/models", () => Results.Json(new { @object = "list", data = new[] { new { id = modelName, @object = "model", owned_by = "nvidia" } } }));
            await app.StartAsync(stop).ConfigureAwait(false);
            log($"INFO:     Uvicorn running on http://0.0.0.0:{bind.Port} (Press CTRL+C to quit)");
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
