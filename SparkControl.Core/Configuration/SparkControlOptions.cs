namespace SparkControl.Core.Configuration;

/// <summary>Settings under <c>SparkControl</c>. Durations are <see cref="TimeSpan"/>s (<c>00:00:05</c>).</summary>
public sealed class SparkControlOptions
{
    public const string Section = "SparkControl";

    /// <summary>Where the panel keeps its files; <c>SPARKCONTROL_DATA</c> sets it, default <c>./data</c>.</summary>
    public string DataDirectory { get; set; } = "./data";

    /// <summary>The address the panel listens on. 127.0.0.1 unless exposing it on the LAN is intended.</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 5080;

    /// <summary>The curated catalog for real Sparks; by default the models.yaml shipped next to the app.</summary>
    public string CatalogFile { get; set; } = Path.Combine(AppContext.BaseDirectory, "models.yaml");

    public HealthOptions Health { get; set; } = new();
}

/// <summary>Settings under <c>SparkControl:Health</c>.</summary>
public sealed class HealthOptions
{
    /// <summary>Time between health checks of every service.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one HTTP probe may take before the service counts as degraded.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How long listing a Spark's containers may take before the Spark counts as unreachable.</summary>
    public TimeSpan HostTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
