using System.Net;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using MudBlazor.Services;
using OpenTelemetry.Metrics;
using SparkControl.Core.Audio;
using SparkControl.Core.Catalog;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Disk;
using SparkControl.Core.Gpu;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;
using SparkControl.Core.Secrets;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Swaps;
using SparkControl.Sim.Demo;
using SparkControl.Sim.Hosting;
using SparkControl.Web.Api;
using SparkControl.Web.Gateway;
using SparkControl.Web.Components;
using SparkControl.Core.Audit;
using SparkControl.Core.Launch;
using SparkControl.Core.Maintenance;

namespace SparkControl.Web.Hosting;

/// <summary>Everything the panel registers and maps, called once from Program.</summary>
public static class SparkControlHosting
{
    public static WebApplicationBuilder AddSparkControl(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        builder.Logging.AddConsoleFormatter<RedactingConsoleFormatter, Microsoft.Extensions.Logging.Console.ConsoleFormatterOptions>();
        services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.FormatterName = RedactingConsoleFormatter.FormatterName);
        var settings = StartupValidation.Bind<SparkControlOptions>(configuration, SparkControlOptions.Section);
        UseListenAddress(builder, settings);
        foreach (var section in SettingsTable.Sections)
        {
            section.Register(services, configuration);
        }

        services.PostConfigure<SparkControlOptions>(o => o.DataDirectory = ResolveDataDirectory(configuration));

        services.AddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<SparkControlMetrics>();

        AddCapabilities(services);
        AddBackgroundWork(services);
        // GET /metrics: the whole SparkControl meter in Prometheus text format.
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(SparkControlMetrics.MeterName).AddPrometheusExporter());

        AddWebFramework(services, configuration);
        return builder;
    }

    private static void UseListenAddress(WebApplicationBuilder builder, SparkControlOptions settings)
    {
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && !builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
        {
            // Loopback unless the operator says otherwise: until authentication lands anyone who reaches the panel can act.
            var host = settings.ListenAddress is "*" or "+" || IPAddress.TryParse(settings.ListenAddress, out _) ? settings.ListenAddress : "localhost";
            builder.WebHost.UseUrls($"http://{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{settings.Port}");
        }
    }

    private static void AddCapabilities(IServiceCollection services)
    {
        // Each capability registers what it owns, bottom layer first (see CoreLayers).
        services.AddStorage(DatabaseSchema.Create());
        services.AddSecrets();
        services.AddAudit();
        services.AddRemote();
        services.AddHosts();
        services.AddSparks();
        services.AddCatalog();
        services.AddLaunch();
        services.AddSparkServices(CreateProbeClient);
        services.AddGpu();
        services.AddGateway();
        services.AddSwaps(CreateProbeClient);
        services.AddDisk();
        services.AddMaintenance();
        services.AddAudio();
        services.AddSingleton<SparkControl.Web.Model.ModelRegistrar>();
        services.AddSingleton(sp => DemoSpark.CreateHost(
            sp.GetRequiredService<IOptions<DemoOptions>>().Value,
            DemoSpark.LoadCatalog(),
            sp.GetRequiredService<TimeProvider>()));
    }

    private static void AddBackgroundWork(IServiceCollection services)
    {
        // Background work, in the order it must start: the fleet is known before the orchestrator reconciles, before
        // the demo starts its first swap and before the first health check; the ledger learns model activity last.
        services.AddHostedService<FleetManager>();
        services.AddHosted<SwapOrchestrator>();
        services.AddHostedService<DemoBootstrapper>();
        services.AddHosted<DiskSizeProbe>();
        services.AddHostedService<DiskRemeasureAfterSwaps>();
        services.AddHosted<HealthMonitor>();
        services.AddHosted<ModelServerMonitor>();
        services.AddHosted<HealthModelActivitySource>();
        services.AddHosted<SwapModelActivitySource>();
        services.AddHosted<GpuBusyTracker>();
    }

    private static void AddWebFramework(IServiceCollection services, IConfiguration configuration)
    {
        AddDataProtection(services, ResolveDataDirectory(configuration));
        // Enums travel as words ("fullModel", "circuitOpen"), not numbers that mean nothing to a script.
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase)));
        services.AddProblemDetails();
        services.AddExceptionHandler<ApiExceptionHandler>();
        // Bad request bodies become exceptions, which the API handler turns into problem details.
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        // A transcript pasted on the Audio page reaches the server as one circuit message: allow what the label-merge
        // API accepts (JSON escaping can double it), not SignalR's 32 KB default.
        var audio = StartupValidation.Bind<AudioOptions>(configuration, AudioOptions.Section);
        services.AddRazorComponents().AddInteractiveServerComponents()
            .AddHubOptions(o => o.MaximumReceiveMessageSize = Math.Max(32 * 1024, (2L * audio.MaxRequestBytes) + (64 * 1024)));
        services.AddSignalR().AddJsonProtocol(o => o.PayloadSerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase)));
        services.AddMudServices();
    }

    public static WebApplication UseSparkControl(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/Error", createScopeForErrors: true);
        }

        app.UseWhen(context => context.Request.Path.StartsWithSegments("/api"), api => api.UseExceptionHandler());
        app.UseWhen(context => !context.Request.Path.StartsWithSegments("/api") && !context.Request.Path.StartsWithSegments("/v1"), pages => pages.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true));
        app.UseRateLimiter();
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapHealthz();
        app.MapSparks();
        app.MapEcho();
        app.MapAudio();
        app.MapSecrets();
        app.MapSshKeys();
        app.MapModels();
        app.MapServices();
        app.MapHostEndpoints();
        app.MapSwaps();
        app.MapGateway();
        app.MapHub<SparkControl.Web.Hubs.SwapHub>(SparkControl.Web.Hubs.SwapHub.Path);
        app.MapGpu();
        // Mapped as an endpoint before the Razor components, so Blazor's routing never answers /metrics.
        app.MapPrometheusScrapingEndpoint();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }

    /// <summary>Runs a singleton registered by its capability as a hosted service too (the same instance).</summary>
    private static void AddHosted<T>(this IServiceCollection services)
        where T : class, IHostedService => services.AddHostedService(sp => sp.GetRequiredService<T>());

    /// <summary><c>SparkControl:DataDirectory</c> if set, else <c>SPARKCONTROL_DATA</c>, else <c>./data</c>.</summary>
    public static string ResolveDataDirectory(IConfiguration configuration) =>
        configuration[$"{SparkControlOptions.Section}:DataDirectory"] is { Length: > 0 } explicitPath
            ? explicitPath
            : configuration["SPARKCONTROL_DATA"] is { Length: > 0 } fromEnvironment ? fromEnvironment : "./data";

    /// <summary>
    /// Keys that protect circuits and antiforgery tokens live in the data directory, so a restart does not break open
    /// browser tabs; on a read-only data directory they stay in memory (the app must still start).
    /// </summary>
    private static void AddDataProtection(IServiceCollection services, string dataDirectory)
    {
        var builder = services.AddDataProtection().SetApplicationName("SparkControl");
        var keys = new DirectoryInfo(Path.Combine(dataDirectory, "keys"));
        try
        {
            keys.Create();
            var probe = Path.Combine(keys.FullName, $".probe-{Guid.NewGuid():N}");
            File.WriteAllText(probe, string.Empty);
            File.Delete(probe);
            builder.PersistKeysToFileSystem(keys);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Reported by /healthz and the Settings page as a read-only data directory.
        }
    }

    /// <summary>One long-lived client for probes; connections are recycled so a Spark's address change is picked up.</summary>
    private static HttpClient CreateProbeClient() => new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectTimeout = TimeSpan.FromSeconds(5),
        AllowAutoRedirect = false,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };
}
