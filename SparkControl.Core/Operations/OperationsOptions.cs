using Microsoft.Extensions.Options;

namespace SparkControl.Core.Operations;

/// <summary>Settings under <c>Operations</c>: the event feed for outside tools, alert delivery and idle unloads.</summary>
public sealed class OperationsOptions
{
    public const string Section = "Operations";

    /// <summary>Events kept for clients that reconnect with <c>Last-Event-ID</c>.</summary>
    public int EventBuffer { get; set; } = 1000;

    /// <summary>How often an idle event stream sends a comment, so proxies and clients see the connection is alive.</summary>
    public TimeSpan EventKeepAlive { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Deliveries of one alert to one webhook before it is given up (the first try included).</summary>
    public int AlertAttempts { get; set; } = 4;

    /// <summary>The wait before the first retry of an alert; each later one waits twice as long.</summary>
    public TimeSpan AlertRetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one webhook call may take.</summary>
    public TimeSpan AlertTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often each Spark's disks are checked against the alert thresholds.</summary>
    public TimeSpan DiskCheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often loaded models are checked against their idle time.</summary>
    public TimeSpan IdleCheckInterval { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>Validates <see cref="OperationsOptions"/>, naming each bad key.</summary>
public sealed class OperationsOptionsValidator : IValidateOptions<OperationsOptions>
{
    public ValidateOptionsResult Validate(string? name, OperationsOptions options)
    {
        var errors = new List<string>();
        void Check(bool ok, string message)
        {
            if (!ok)
            {
                errors.Add(message);
            }
        }

        Check(options.EventBuffer is >= 10 and <= 100_000, "Operations:EventBuffer must be between 10 and 100000");
        Check(options.EventKeepAlive >= TimeSpan.FromMilliseconds(100) && options.EventKeepAlive <= TimeSpan.FromMinutes(5), "Operations:EventKeepAlive must be between 00:00:00.1 and 00:05:00");
        Check(options.AlertAttempts is >= 1 and <= 10, "Operations:AlertAttempts must be between 1 and 10");
        Check(options.AlertRetryDelay > TimeSpan.Zero && options.AlertRetryDelay <= TimeSpan.FromMinutes(5), "Operations:AlertRetryDelay must be more than zero and at most 00:05:00");
        Check(options.AlertTimeout > TimeSpan.Zero && options.AlertTimeout <= TimeSpan.FromMinutes(2), "Operations:AlertTimeout must be more than zero and at most 00:02:00");
        Check(options.DiskCheckInterval >= TimeSpan.FromMilliseconds(100) && options.DiskCheckInterval <= TimeSpan.FromHours(1), "Operations:DiskCheckInterval must be between 00:00:00.1 and 01:00:00");
        Check(options.IdleCheckInterval >= TimeSpan.FromMilliseconds(100) && options.IdleCheckInterval <= TimeSpan.FromMinutes(10), "Operations:IdleCheckInterval must be between 00:00:00.1 and 00:10:00");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
