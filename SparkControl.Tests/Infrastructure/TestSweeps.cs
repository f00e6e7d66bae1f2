using Microsoft.Extensions.Logging.Abstractions;
using SparkControl.Core.Audio.Sweep;
using SparkControl.Core.Audit;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Gateway;
using SparkControl.Core.Hosts;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Tests.Core;

namespace SparkControl.Tests.Infrastructure;

/// <summary>The sweep service on real stores, for components that show sweeps.</summary>
public static class TestSweeps
{
    /// <summary>A fleet of <paramref name="services"/> on one Spark (by default none), checked once.</summary>
    public static AudioSweeps Create(string dataDirectory, TimeProvider time, params ServiceDefinition[] services)
    {
        var store = TestStores.Open(dataDirectory);
        var fleet = new SparkFleet(time);
        if (services.Length > 0)
        {
            fleet.Publish(new FleetConfiguration([new SparkEntry(new SparkDefinition { Name = services[0].Spark, Host = "spark.test", User = "nvidia" }, new FakeSparkHost(services[0].Spark), false)], [.. services], false));
        }

        var metrics = new SparkControlMetrics(new TestMeterFactory());
        var health = new HealthMonitor(fleet, new HealthProbe(new HttpClient(), time), new ServiceStatusLog(store), metrics, new SparkControl.Core.Remote.ConnectivityTracker(time), time,
            new StaticOptionsMonitor<SparkControlOptions>(new SparkControlOptions()), NullLogger<HealthMonitor>.Instance);
        if (services.Length > 0)
        {
            // One check finds where each service listens: a worker is offered from then on, healthy or not.
            health.CheckOnceAsync(CancellationToken.None).GetAwaiter().GetResult();
        }

        return new AudioSweeps(new AudioRoutes(health, fleet), new AudioCapacity(time), new SweepStore(store), new ServiceSettingsStore(new DataDirectory(dataDirectory), time),
            new AuditLog(store, time), time, NullLogger<AudioSweeps>.Instance);
    }
}
