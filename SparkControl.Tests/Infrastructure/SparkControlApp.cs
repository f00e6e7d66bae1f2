using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// The real app on real Kestrel at 127.0.0.1 with a dynamic port, in Development (so static assets resolve), with its
/// own data directory and settings. Demo mode loads models fast so tests do not wait for the demo's realistic times.
/// </summary>
public sealed class SparkControlApp : IAsyncDisposable
{
    private readonly Factory _factory;
    private readonly TempDirectory? _ownedData;

    private SparkControlApp(Factory factory, TempDirectory? ownedData, string dataDirectory)
    {
        _factory = factory;
        _ownedData = ownedData;
        DataDirectory = dataDirectory;
        var addresses = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        BaseAddress = new Uri(addresses.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
    }

    public Uri BaseAddress { get; }
    public string DataDirectory { get; }
    public IServiceProvider Services => _factory.Services;

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    public static Task<SparkControlApp> StartAsync(IDictionary<string, string?>? settings = null, string? dataDirectory = null, Action<IServiceCollection>? configureServices = null)
    {
        var owned = dataDirectory is null ? new TempDirectory("sc-data") : null;
        var data = dataDirectory ?? owned!.Path;
        var all = new Dictionary<string, string?>
        {
            ["SparkControl:DataDirectory"] = data,
            ["SparkControl:Health:Interval"] = "00:00:00.300",
            // The demo's model servers run in the test process: on a loaded machine one can take seconds to answer a
            // probe, and the gateway routes only what a probe has seen answer.
            ["SparkControl:Health:ProbeTimeout"] = "00:00:15",
            ["Demo:LoadTime"] = "00:00:00.500",
            ["Demo:TokensPerSecond"] = "500",
            ["Demo:GpuSampleInterval"] = "00:00:00.200",
            ["Logging:LogLevel:Default"] = "Warning",
            ["SparkControl:Ssh:ConnectTimeout"] = "00:00:05",
            // Most tests are about what the panel does, not who may ask: they run as a trusted lab (every caller admin).
            // The access tests turn it off and sign in (see Security/).
            ["Security:AllowAnonymous"] = "true",
            // Its start-up collection would pause every panel in this process (GatewayWarmupTests turns it on).
            ["Gateway:WarmUp"] = "false",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var factory = new Factory(all, configureServices);
        factory.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        factory.StartServer();
        return Task.FromResult(new SparkControlApp(factory, owned, data));
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        _ownedData?.Dispose();
    }

    private sealed class Factory(IDictionary<string, string?> settings, Action<IServiceCollection>? configureServices) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }

            // A browser page still open keeps its circuit's connection: do not wait the default 30 s for it at shutdown.
            builder.ConfigureServices(services => services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2)));
            if (configureServices is not null)
            {
                builder.ConfigureServices(configureServices);
            }
        }
    }
}
