using System.Net;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using MudBlazor.Services;
using OpenTelemetry.Metrics;
using SparkControl.Core.Audio;
using SparkControl.Core.Audio.Echo;
using SparkControl.Core.Catalog;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Gateway;
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
        if (string.IsNullOrEmpty(configuration["urls"]) && !configuration.GetSection("Kestrel:Endpoints").Exists())
        {
            // Loopback unless the operator says otherwise: until authentication lands anyone who reaches the panel can act.
            var host = settings.ListenAddress is "*" or "+" || IPAddress.TryParse(settings.ListenAddress, out _) ? settings.ListenAddress : "localhost";
            builder.WebHost.UseUrls($"http://{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{settings.Port}");
        }

        services.AddOptions<SparkControlOptions>()
            .Bind(configuration.GetSection(SparkControlOptions.Section))
            .PostConfigure(o => o.DataDirectory = ResolveDataDirectory(configuration))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<SparkControlOptions>, SparkControlOptionsValidator>();
        services.AddOptions<DemoOptions>().Bind(configuration.GetSection(DemoOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DemoOptions>, DemoOptionsValidator>();
        services.AddOptions<EchoOptions>().Bind(configuration.GetSection(EchoOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EchoOptions>, EchoOptionsValidator>();
        services.AddOptions<GatewayOptions>().Bind(configuration.GetSection(GatewayOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();
        services.AddOptions<AudioOptions>().Bind(configuration.GetSection(AudioOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AudioOptions>, AudioOptionsValidator>();

        services.AddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<SparkControlMetrics>();
        services.AddSingleton<StorageHealth>();
        services.AddSingleton<EchoQueue>();
        services.AddSingleton(sp => new DataDirectory(sp.GetRequiredService<IOptions<SparkControlOptions>>().Value.DataDirectory, sp.GetRequiredService<StorageHealth>()));
        services.AddSingleton(DatabaseSchema.Create());
        services.AddSingleton<SparkControlStore>();
        services.AddSingleton<ServiceStatusLog>();
        services.AddSingleton<SparkFleet>();
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton(sp => new HealthProbe(CreateProbeClient(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<HostKeyStore>();
        services.AddSingleton(sp => new SshKeyStore(sp.GetRequiredService<DataDirectory>(), sp.GetRequiredService<IOptions<SparkControlOptions>>().Value.Ssh.KeyDirectories));
        services.AddSingleton<SecretStore>();
        services.AddSingleton<ConnectivityTracker>();
        services.AddSingleton<SparkHostFactory>();
        services.AddSingleton<SparkWork>();
        services.AddSingleton<SparkSettingsStore>();
        services.AddSingleton<ServiceSettingsStore>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<ServiceActions>();
        services.AddSingleton<HostActionService>();
        services.AddSingleton<HostOverviewReader>();
        services.AddSingleton<ServiceDetailReader>();
        services.AddSingleton<SparkConnectionTester>();
        services.AddSingleton<CatalogStore>();
        services.AddSingleton<LaunchPlanner>();
        services.AddSingleton<DiskSizeProbe>();
        services.AddSingleton<SparkControl.Web.Model.ModelRegistrar>();

        services.AddSingleton(sp => DemoSpark.CreateHost(
            sp.GetRequiredService<IOptions<DemoOptions>>().Value,
            DemoSpark.LoadCatalog(),
            sp.GetRequiredService<TimeProvider>()));

        services.AddSingleton<SwapHistory>();
        services.AddGateway();
        services.AddSingleton(sp => new SwapOrchestrator(
            sp.GetRequiredService<SparkFleet>(), sp.GetRequiredService<ModelCatalog>(), sp.GetRequiredService<LaunchPlanner>(), sp.GetRequiredService<HealthMonitor>(),
            sp.GetRequiredService<SwapHistory>(), sp.GetRequiredService<IDrainGate>(), sp.GetRequiredService<SparkControlMetrics>(), CreateProbeClient(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptionsMonitor<SparkControlOptions>>(), sp.GetRequiredService<ILogger<SwapOrchestrator>>(),
            sp.GetRequiredService<SparkWork>()));

        // Order matters: the fleet is known before the orchestrator reconciles, before the demo starts its first swap
        // and before the first health check.
        services.AddHostedService<FleetManager>();
        services.AddHostedService(sp => sp.GetRequiredService<SwapOrchestrator>());
        services.AddHostedService<DemoBootstrapper>();
        services.AddHostedService(sp => sp.GetRequiredService<DiskSizeProbe>());
        services.AddHostedService<DiskRemeasureAfterSwaps>();
        services.AddSingleton<HealthMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<HealthMonitor>());
        services.AddSingleton(sp => new ModelServerMonitor(sp.GetRequiredService<HealthMonitor>(), CreateProbeClient(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptionsMonitor<SparkControlOptions>>(), sp.GetRequiredService<ILogger<ModelServerMonitor>>()));
        services.AddHostedService(sp => sp.GetRequiredService<ModelServerMonitor>());
        // The ledger learns model activity through IModelActivitySource: health, with the swaps' phases on top.
        services.AddSingleton<HealthModelActivitySource>();
        services.AddHostedService(sp => sp.GetRequiredService<HealthModelActivitySource>());
        services.AddSingleton<SwapModelActivitySource>();
        services.AddSingleton<IModelActivitySource>(sp => sp.GetRequiredService<SwapModelActivitySource>());
        services.AddHostedService(sp => sp.GetRequiredService<SwapModelActivitySource>());
        services.AddSingleton<GpuLedgerStore>();
        services.AddSingleton<GpuBusyTracker>();
        services.AddHostedService(sp => sp.GetRequiredService<GpuBusyTracker>());
        // GET /metrics: the whole SparkControl meter in Prometheus text format.
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(SparkControlMetrics.MeterName).AddPrometheusExporter());

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
        return builder;
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
