using System.Collections.Frozen;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using MudBlazor.Services;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
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
using SparkControl.Core.Nim;
using SparkControl.Core.Swaps;
using SparkControl.Core.Vectors;
using SparkControl.Sim.Demo;
using SparkControl.Sim.Hosting;
using SparkControl.Web.Api;
using SparkControl.Web.Gateway;
using SparkControl.Web.Components;
using SparkControl.Core.Audit;
using SparkControl.Core.Launch;
using SparkControl.Core.Maintenance;
using SparkControl.Core.Operations;

using SparkControl.Core.Access;
using SparkControl.Web.Security;

namespace SparkControl.Web.Hosting;

/// <summary>Everything the panel registers and maps, called once from Program.</summary>
public static class SparkControlHosting
{
    /// <summary>The OpenTelemetry service.name: what /metrics' target_info calls the panel.</summary>
    public const string ServiceName = "spark-control";

    /// <summary>The runtime's built-in meter (.NET 9 and later): GC heap, working set, threads, thread pool.</summary>
    public const string RuntimeMeterName = "System.Runtime";

    /// <summary>
    /// The runtime instruments /metrics carries: where growth over a long run shows. The rest are left out; three of them
    /// (assembly, CPU and timer counts) are gauges named <c>*_count</c>, which Prometheus keeps for histograms.
    /// </summary>
    private static readonly FrozenSet<string> RuntimeInstruments = new[]
    {
        "dotnet.process.memory.working_set", "dotnet.process.cpu.time", "dotnet.gc.last_collection.heap.size",
        "dotnet.gc.last_collection.memory.committed_size", "dotnet.gc.collections", "dotnet.gc.pause.time",
        "dotnet.thread_pool.thread.count", "dotnet.thread_pool.queue.length",
    }.ToFrozenSet(StringComparer.Ordinal);

    public static WebApplicationBuilder AddSparkControl(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        builder.Logging.AddConsoleFormatter<RedactingConsoleFormatter, Microsoft.Extensions.Logging.Console.ConsoleFormatterOptions>();
        services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.FormatterName = RedactingConsoleFormatter.FormatterName);
        var settings = StartupValidation.Bind<SparkControlOptions>(configuration, SparkControlOptions.Section);
        UseListenAddress(builder, settings);
        // A request line up to 16 KB (Kestrel's default is 8): a hostile 10 KB id reaches the route validators and gets
        // the API's 400, which names the field, instead of a bare 414.
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestLineSize = 16 * 1024);
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
        // GET /metrics: the whole SparkControl meter in Prometheus text format, and the runtime's own (memory, GC, threads),
        // so growth over a long run shows where an operator already looks. The resource names the service, so
        // target_info (and a collector's job) says spark-control, not "unknown_service:SparkControl.Web".
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName: ServiceName, serviceVersion: AppVersion.Current))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(SparkControlMetrics.MeterName, RuntimeMeterName)
                    .AddView(i => i.Meter.Name == RuntimeMeterName && !RuntimeInstruments.Contains(i.Name) ? MetricStreamConfiguration.Drop : null)
                    .AddPrometheusExporter();
                // OpenTelemetry listens by meter name across the process: a second panel in the same process (the tests
                // run dozens at once) would add its requests to this one's /metrics. Only this host's meter counts.
                var deferred = metrics as IDeferredMeterProviderBuilder ?? throw new InvalidOperationException("OpenTelemetry's metrics builder no longer defers to the service provider.");
                deferred.Configure((provider, builder) =>
                {
                    var ours = provider.GetRequiredService<IMeterFactory>();
                    builder.AddView(i => i.Meter.Name == SparkControlMetrics.MeterName && !ReferenceEquals(i.Meter.Scope, ours) ? MetricStreamConfiguration.Drop : null);
                });
            });

        AddWebFramework(services, configuration);
        return builder;
    }

    private static void UseListenAddress(WebApplicationBuilder builder, SparkControlOptions settings)
    {
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && !builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
        {
            // Loopback unless the operator says otherwise; beyond loopback the panel asks who is there (see AccessMode).
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
        services.AddVectors();
        services.AddSwaps(CreateProbeClient);
        services.AddNimInstalls(CreateProbeClient);
        services.AddDisk();
        services.AddMaintenance();
        services.AddAudio();
        services.AddOperations(CreateProbeClient);
        services.AddAccess<PasswordHashing>();
        services.AddSingleton<SparkControl.Web.Model.ModelRegistrar>();
        services.AddSingleton<SparkControl.Web.Model.AdapterRegistrar>();
        services.AddSingleton<SparkControl.Web.Components.FleetSources>();
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
        services.AddHosted<SwapModelActivitySource>();
        services.AddHosted<GpuBusyTracker>();
        services.AddHosted<Core.Audio.Transcripts.TranscriptJobs>();
        services.AddHosted<FleetEventFeed>();
        services.AddHosted<AlertMonitor>();
        services.AddHosted<IdleUnloader>();
        services.AddSingleton<GatewayWarmup>();
        services.AddHosted<GatewayWarmup>();
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
        // Notices appear bottom left, away from the page's and dialogs' action buttons (top and bottom right) they report on.
        services.AddMudServices(mud => mud.SnackbarConfiguration.PositionClass = MudBlazor.Defaults.Classes.Position.BottomLeft);
        AddSecurity(services, configuration);
    }

    /// <summary>Who may do what (see AccessPolicies), and the protections that hold in every mode.</summary>
    private static void AddSecurity(IServiceCollection services, IConfiguration configuration)
    {
        services.AddPanelAuthentication();
        services.AddAccessPolicies();
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, AccessDeniedResponses>();
        services.AddCascadingAuthenticationState();
        services.AddScoped<Caller>();
        services.AddScoped<Microsoft.AspNetCore.Components.Server.Circuits.CircuitHandler, AccessRecheck>();
        // Only the panel's own names in Host: a DNS-rebinding page's requests carry its name and are refused.
        services.AddOptions<Microsoft.AspNetCore.HostFiltering.HostFilteringOptions>()
            .Configure<IOptions<SecurityOptions>>((o, security) => o.AllowedHosts = [.. AllowedHosts.For(configuration, security.Value)]);
        services.AddOptions<Microsoft.AspNetCore.Builder.ForwardedHeadersOptions>().Configure<IOptions<SecurityOptions>>((o, security) =>
        {
            // Only a configured proxy's forwarded headers count (the framework's default trusts loopback, not ours to assume);
            // without one the middleware is not used at all.
            o.ForwardedHeaders = Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedFor | Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedProto | Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedHost;
            o.KnownIPNetworks.Clear();
            o.KnownProxies.Clear();
            foreach (var proxy in security.Value.KnownProxies)
            {
                o.KnownProxies.Add(IPAddress.Parse(proxy));
            }

            o.AllowedHosts = [.. AllowedHosts.For(configuration, security.Value)];
        });
    }

    public static WebApplication UseSparkControl(this WebApplication app)
    {
        // With no proxy listed the middleware would believe anyone (it trusts all when both of its lists are empty).
        if (app.Services.GetRequiredService<IOptions<SecurityOptions>>().Value.KnownProxies.Length > 0)
        {
            app.UseForwardedHeaders();
        }

        // The gateway's forwarding routes first, after only the host filter (which the host puts ahead of everything)
        // and the proxy's headers: what follows is for the panel's pages and API. The exception handler answers in
        // problem details or with the error page, and its wait was one more step on every gateway request (the forwarder
        // answers its own failures in the OpenAI API's shape). The page headers (a content security policy, no framing,
        // no sniffing) guard what a browser renders or frames; the branch takes only POSTs that CrossSiteProtection
        // finds come from no other site, so no other site can make a browser show or frame its JSON and event streams.
        // Whoever widens GatewayFastPath.Admits must weigh that again. (Every request the branch passes on, a
        // cross-site one included, still gets the headers.)
        app.UseMiddleware<Gateway.GatewayFastPath>();
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/Error", createScopeForErrors: true);
        }

        app.UseMiddleware<SecurityHeaders>();
        // An /api error with no body of its own (routing's 415 for a wrong Content-Type, an unknown route) still answers
        // in problem details.
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/api"), api => api.UseExceptionHandler().UseStatusCodePages(ApiExceptionHandler.WriteStatusAsync));
        // Pages get the not-found page for a status; machines (API, gateway, hubs, /metrics) get the status itself.
        app.UseWhen(context => !PanelAuthentication.IsMachinePath(context.Request.Path), pages => pages.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true));
        // Here, not first (where the host puts it when the app does not): the gateway's own branch above needs no
        // endpoint, and matching its requests against every page and API route was work on every one of them. And after
        // the branches: a branch's re-executed request (the not-found page) is routed only by what follows it, so with
        // routing first an unknown page got a bare 404. Nothing above this line may read the endpoint.
        app.UseRouting();
        app.UseMiddleware<CrossSiteProtection>();
        app.UseAuthentication();
        app.UseMiddleware<SetupGate>();
        app.UseAuthorization();
        app.UseMiddleware<ApiAudit>();
        app.UseMiddleware<Api.ApiParameterGuard>();
        app.UseAntiforgery();
        app.MapStaticAssets().AllowAnonymous();
        app.MapHealthz();
        app.MapAccount();
        app.MapAccess();
        app.MapAudit();
        app.MapSparks();
        app.MapEcho();
        app.MapAudio();
        app.MapAudioSweeps();
        app.MapTranscripts();
        app.MapScrub();
        app.MapVectors();
        app.MapSecrets();
        app.MapSshKeys();
        app.MapModels();
        app.MapServices();
        app.MapHostEndpoints();
        app.MapWeightsEndpoints();
        app.MapSwaps();
        app.MapNim();
        app.MapModelCopies();
        app.MapGateway();
        app.MapHub<SparkControl.Web.Hubs.SwapHub>(SparkControl.Web.Hubs.SwapHub.Path).RequireAuthorization(AccessPolicies.Viewer);
        app.MapHub<SparkControl.Web.Hubs.HealthHub>(SparkControl.Web.Hubs.HealthHub.Path).RequireAuthorization(AccessPolicies.Viewer);
        app.MapEvents();
        app.MapAlerts();
        app.MapGpu();
        // Mapped as an endpoint before the Razor components, so Blazor's routing never answers /metrics.
        app.MapPrometheusScrapingEndpoint().RequireAuthorization(AccessPolicies.Metrics);
        // Pages declare their role (Pages/_Imports.razor); the circuit's own endpoints (/_blazor) need a signed-in viewer.
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode().RequireAuthorization(AccessPolicies.Viewer);
        WarnWhenOpen(app);
        return app;
    }

    /// <summary>The trusted lab's switch is said out loud on every start.</summary>
    private static void WarnWhenOpen(WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<SecurityOptions>>().Value.AllowAnonymous)
        {
            app.Lifetime.ApplicationStarted.Register(() => app.Logger.LogWarning(
                "Security:AllowAnonymous is on: anyone who reaches this panel acts as admin, with no sign-in. Use it only on a trusted network."));
        }
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
