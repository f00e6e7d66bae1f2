using Microsoft.Extensions.Logging.Abstractions;
using SparkControl.Core.Audio.Sweep;
using SparkControl.Core.Audit;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Gateway;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Tests.Core;

namespace SparkControl.Tests.Infrastructure;

/// <summary>The sweep service on real stores and an empty fleet, for components that show sweeps.</summary>
public static class TestSweeps
{
    public static AudioSweeps Create(string dataDirectory, TimeProvider time)
    {
        var store = TestStores.Open(dataDirectory);
        var fleet = new SparkFleet(time);
        var metrics = new SparkControlMetrics(new TestMeterFactory());
        var health = new HealthMonitor(fleet, new HealthProbe(new HttpClient(), time), new ServiceStatusLog(store), metrics, new SparkControl.Core.Remote.ConnectivityTracker(time), time,
            new StaticOptionsMonitor<SparkControlOptions>(new SparkControlOptions()), NullLogger<HealthMonitor>.Instance);
        return new AudioSweeps(new AudioRoutes(health, fleet), new AudioCapacity(time), new SweepStore(store), new ServiceSettingsStore(new DataDirectory(dataDirectory), time),
            new AuditLog(store, time), time, NullLogger<AudioSweeps>.Instance);
    }
}
