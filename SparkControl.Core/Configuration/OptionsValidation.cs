using System.Net;
using Microsoft.Extensions.Options;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Configuration;

/// <summary>Validates every <see cref="SparkControlOptions"/> setting at once and names each bad key.</summary>
public sealed class SparkControlOptionsValidator : IValidateOptions<SparkControlOptions>
{
    public ValidateOptionsResult Validate(string? name, SparkControlOptions options)
    {
        var errors = new List<string>();
        const string prefix = SparkControlOptions.Section;
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            errors.Add($"{prefix}:DataDirectory must name a directory (or set SPARKCONTROL_DATA)");
        }

        if (string.IsNullOrWhiteSpace(options.ListenAddress)
            || !(IPAddress.TryParse(options.ListenAddress, out _) || options.ListenAddress is "localhost" or "*" or "+"))
        {
            errors.Add($"{prefix}:ListenAddress '{options.ListenAddress}' must be an IP address, localhost or *");
        }

        if (options.Port is < 1 or > 65535)
        {
            errors.Add($"{prefix}:Port must be between 1 and 65535, not {options.Port}");
        }

        Positive(errors, $"{prefix}:Health:Interval", options.Health.Interval);
        Positive(errors, $"{prefix}:Health:ProbeTimeout", options.Health.ProbeTimeout);
        Positive(errors, $"{prefix}:Health:HostTimeout", options.Health.HostTimeout);
        Positive(errors, $"{prefix}:GpuSampleInterval", options.GpuSampleInterval);
        ValidateSsh(errors, options.Ssh);
        ValidateSwap(errors, options.Swap);
        ValidateGpu(errors, options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateSsh(List<string> errors, SshOptions ssh)
    {
        const string prefix = SparkControlOptions.Section;
        Positive(errors, $"{prefix}:Ssh:ConnectTimeout", ssh.ConnectTimeout);
        Positive(errors, $"{prefix}:Ssh:KeepAliveInterval", ssh.KeepAliveInterval);
        Positive(errors, $"{prefix}:Ssh:CommandTimeout", ssh.CommandTimeout);
        Positive(errors, $"{prefix}:Ssh:RetryDelay", ssh.RetryDelay);
        Positive(errors, $"{prefix}:Ssh:CircuitBreakDuration", ssh.CircuitBreakDuration);
        if (ssh.RetryAttempts is < 0 or > 10)
        {
            errors.Add($"{prefix}:Ssh:RetryAttempts must be between 0 and 10, not {ssh.RetryAttempts}");
        }

        if (ssh.CircuitBreakerFailures is < 2 or > 100)
        {
            errors.Add($"{prefix}:Ssh:CircuitBreakerFailures must be between 2 and 100, not {ssh.CircuitBreakerFailures}");
        }

        if (ssh.MaxOutputBytes is < 64 * 1024 or > 1 << 30)
        {
            errors.Add($"{prefix}:Ssh:MaxOutputBytes must be between 65536 and 1073741824, not {ssh.MaxOutputBytes}");
        }

        for (var i = 0; i < ssh.KeyDirectories.Length; i++)
        {
            if (Validation.Validators.AbsolutePath(ssh.KeyDirectories[i], $"{prefix}:Ssh:KeyDirectories:{i}") is { } badDirectory)
            {
                errors.Add(badDirectory);
            }
        }

        if (ssh.MaxChannelsPerSpark is < 1 or > 9)
        {
            errors.Add($"{prefix}:Ssh:MaxChannelsPerSpark must be between 1 and 9 (OpenSSH allows 10 sessions, one is kept for stopping commands), not {ssh.MaxChannelsPerSpark}");
        }

        if (ssh.MaxStreamsPerSpark < 1 || ssh.MaxStreamsPerSpark >= ssh.MaxChannelsPerSpark)
        {
            errors.Add($"{prefix}:Ssh:MaxStreamsPerSpark must be at least 1 and less than Ssh:MaxChannelsPerSpark ({ssh.MaxChannelsPerSpark}), so a channel is left for control commands, not {ssh.MaxStreamsPerSpark}");
        }

        Positive(errors, $"{prefix}:Ssh:ChannelWaitTimeout", ssh.ChannelWaitTimeout);
    }

    private static void ValidateSwap(List<string> errors, SwapOptions swap)
    {
        const string prefix = SparkControlOptions.Section;
        foreach (var (key, value) in new[]
        {
            ("PreflightTimeout", swap.PreflightTimeout), ("DownloadTimeout", swap.DownloadTimeout), ("DrainTimeout", swap.DrainTimeout),
            ("StopTimeout", swap.StopTimeout), ("LaunchTimeout", swap.LaunchTimeout), ("LoadTimeout", swap.LoadTimeout),
            ("VerifyTimeout", swap.VerifyTimeout), ("ProbeInterval", swap.ProbeInterval),
        })
        {
            Positive(errors, $"{prefix}:Swap:{key}", value);
        }

        if (swap.SystemReserveGiB is < 0 or > 64 || double.IsNaN(swap.SystemReserveGiB))
        {
            errors.Add($"{prefix}:Swap:SystemReserveGiB must be between 0 and 64, not {swap.SystemReserveGiB}");
        }

        if (swap.LogLines is < 1 or > 10_000)
        {
            errors.Add($"{prefix}:Swap:LogLines must be between 1 and 10000, not {swap.LogLines}");
        }
    }

    private static void ValidateGpu(List<string> errors, SparkControlOptions options)
    {
        const string prefix = $"{SparkControlOptions.Section}:Gpu";
        var gpu = options.Gpu;
        Positive(errors, $"{prefix}:GapThreshold", gpu.GapThreshold);
        Positive(errors, $"{prefix}:FlushInterval", gpu.FlushInterval);
        Positive(errors, $"{prefix}:ReconnectDelay", gpu.ReconnectDelay);
        Positive(errors, $"{prefix}:MemoryInterval", gpu.MemoryInterval);
        if (gpu.GapThreshold > TimeSpan.Zero && options.GpuSampleInterval > TimeSpan.Zero && gpu.GapThreshold <= options.GpuSampleInterval)
        {
            errors.Add($"{prefix}:GapThreshold ({gpu.GapThreshold}) must be longer than {SparkControlOptions.Section}:GpuSampleInterval ({options.GpuSampleInterval}), or every sample would be a gap");
        }

        // A range's first and last hour are read from minute rows, so they must outlive at least a day.
        if (gpu.MinuteRetention < TimeSpan.FromDays(1))
        {
            errors.Add($"{prefix}:MinuteRetention must be at least 1.00:00:00, not {gpu.MinuteRetention}");
        }

        if (gpu.HourRetention < gpu.MinuteRetention || gpu.HourRetention < TimeSpan.FromDays(2))
        {
            errors.Add($"{prefix}:HourRetention must be at least 2.00:00:00 and at least {prefix}:MinuteRetention, not {gpu.HourRetention}");
        }
    }

    public static void Positive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} must be a positive duration like 00:00:05, not {value}");
        }
    }
}
