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

    public SshOptions Ssh { get; set; } = new();

    public SwapOptions Swap { get; set; } = new();

    /// <summary>
    /// The period of each Spark's nvidia-smi sample stream. utilization.gpu is the busy share of the driver's own last
    /// sample window (about 100 ms, 50 ms before the reading, as fitted on the captured H100 timelines), not of the time
    /// since the previous reading: sampled every second, the ledger would see a tenth of the time and extrapolate it, and a
    /// periodic load would alias. Sampling at the window or faster, the windows tile and every busy second is seen.
    /// </summary>
    public TimeSpan GpuSampleInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    public GpuOptions Gpu { get; set; } = new();
}

/// <summary>Settings under <c>SparkControl:Gpu</c>: the GPU busy ledger.</summary>
public sealed class GpuOptions
{
    /// <summary>A longer pause between two samples is unknown time, never interpolated.</summary>
    public TimeSpan GapThreshold { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often counted seconds are written to the store (the API and page include what is not written yet).</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long per-minute rows are kept; hourly rows answer older ranges.</summary>
    public TimeSpan MinuteRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How long hourly rows are kept; daily rows are kept for good.</summary>
    public TimeSpan HourRetention { get; set; } = TimeSpan.FromDays(400);

    /// <summary>The wait before a Spark's sample stream is opened again after it failed or ended.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often unified memory is read from <c>/proc/meminfo</c> (nvidia-smi cannot tell on a Spark).</summary>
    public TimeSpan MemoryInterval { get; set; } = TimeSpan.FromSeconds(5);
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

/// <summary>Settings under <c>SparkControl:Ssh</c>: how Sparks are reached.</summary>
public sealed class SshOptions
{
    /// <summary>How long opening a connection may take.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Keep-alive messages on idle connections, so a dead link is noticed.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The default time a command may run before it is stopped.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Retries of a connection that failed before the command started (with jittered backoff).</summary>
    public int RetryAttempts { get; set; } = 2;

    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>Consecutive connection failures that open a Spark's circuit.</summary>
    public int CircuitBreakerFailures { get; set; } = 3;

    /// <summary>How long an open circuit fails calls fast before one is let through to test the Spark.</summary>
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Commands in flight on one connection (OpenSSH allows 10 sessions per connection).</summary>
    public int MaxChannelsPerSpark { get; set; } = 9;

    /// <summary>
    /// Of <see cref="MaxChannelsPerSpark"/>, how many never-ending streams (GPU samples, followed logs) may hold; the
    /// rest are kept for short control commands, so open log views cannot stall health checks and swaps.
    /// </summary>
    public int MaxStreamsPerSpark { get; set; } = 5;

    /// <summary>How long a command or stream waits for a free channel before it fails saying why.</summary>
    public TimeSpan ChannelWaitTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The most output the panel keeps of one command (each of stdout and stderr); a command that prints more is stopped
    /// and fails with an error that says so. Streams (logs, GPU samples) are read line by line and are not held.
    /// </summary>
    public int MaxOutputBytes { get; set; } = 16 << 20;

    /// <summary>
    /// Directories besides the data directory's <c>ssh-keys/</c> whose files a Spark's <c>keyPath</c> may name (for
    /// example <c>/home/operator/.ssh</c> when the panel runs outside a container).
    /// </summary>
    public string[] KeyDirectories { get; set; } = [];
}

/// <summary>Settings under <c>SparkControl:Swap</c>: how long each phase of a swap may take, and what happens on failure.</summary>
public sealed class SwapOptions
{
    public TimeSpan PreflightTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Fetching the weights with <c>hf download</c>; large models take hours on a slow line.</summary>
    public TimeSpan DownloadTimeout { get; set; } = TimeSpan.FromHours(6);

    /// <summary>How long running requests may take to finish before the old model is stopped anyway.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Starting the container; includes pulling its image the first time.</summary>
    public TimeSpan LaunchTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>From a running container to an answering port (weights loaded, CUDA graphs captured).</summary>
    public TimeSpan LoadTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>From an answering port to <c>/v1/models</c> listing the served name.</summary>
    public TimeSpan VerifyTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often a loading model's port is tried; small, so Ready follows "listening" closely.</summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>After a failed swap, start one back to the model that served before.</summary>
    public bool Rollback { get; set; } = true;

    /// <summary>Unified memory left to the operating system and everything not in services.yaml.</summary>
    public double SystemReserveGiB { get; set; } = 4;

    /// <summary>Log lines kept from a stopped or failed container.</summary>
    public int LogLines { get; set; } = 50;
}
