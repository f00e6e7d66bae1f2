using SparkControl.Core.Audit;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;
using SparkControl.Core.Sparks;

namespace SparkControl.Core.Maintenance;

/// <summary>When a host action last ran on a Spark, who started it, and how it ended (null: still running, or no end recorded).</summary>
public sealed record HostLastRun(string Action, DateTimeOffset? StartedAt, string? StartedBy, DateTimeOffset? EndedAt, string? Outcome);

/// <summary>
/// A Spark's pending updates and its host actions' history. A count is null when its check failed; the problem says
/// why (fwupdmgr not installed, no network), so one failing check does not hide the other.
/// </summary>
public sealed record HostUpdates(
    string Spark,
    int? AptUpgrades,
    int? AptRemovals,
    string? AptProblem,
    IReadOnlyList<FirmwareUpdate> Firmware,
    string? FirmwareProblem,
    IReadOnlyList<HostLastRun> LastRuns)
{
    public int? FirmwarePending => FirmwareProblem is null ? Firmware.Count : null;
}

/// <summary>Reads pending apt and firmware updates from a Spark, and the host actions' last runs from the audit log.</summary>
public sealed class HostUpdatesReader(SparkFleet fleet, AuditLog audit)
{
    /// <summary>What <c>apt-get full-upgrade</c> would do on the Spark now, removals included.</summary>
    public Task<AptSimulation> PreviewFullUpgradeAsync(string spark, CancellationToken cancellationToken)
    {
        var entry = Find(spark);
        return SimulateFullUpgradeAsync(entry.Host, cancellationToken);
    }

    /// <summary>Runs <c>apt-get -s full-upgrade</c>; a failure (a broken package database) throws <see cref="SparkCommandException"/>.</summary>
    public static async Task<AptSimulation> SimulateFullUpgradeAsync(ISparkHost host, CancellationToken cancellationToken)
    {
        var output = await host.RunHostCheckAsync(HostCheck.AptFullUpgradeSimulation, cancellationToken).ConfigureAwait(false);
        if (output.ExitCode != 0)
        {
            var last = (output.Stderr + "\n" + output.Stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "no output";
            throw new SparkCommandException(host.Name, $"apt-get -s full-upgrade failed on {host.Name} (exit {output.ExitCode}): {last}", output.ExitCode, (output.Stdout + output.Stderr).Trim());
        }

        return AptSimulation.Parse(output.Stdout);
    }

    public async Task<HostUpdates> ReadAsync(string spark, CancellationToken cancellationToken)
    {
        var entry = Find(spark);
        AptSimulation? apt = null;
        string? aptProblem = null;
        try
        {
            apt = await SimulateFullUpgradeAsync(entry.Host, cancellationToken).ConfigureAwait(false);
        }
        catch (SparkCommandException ex)
        {
            aptProblem = ex.Message;
        }

        IReadOnlyList<FirmwareUpdate> firmware = [];
        string? firmwareProblem = null;
        var output = await entry.Host.RunHostCheckAsync(HostCheck.FirmwareUpdates, cancellationToken).ConfigureAwait(false);
        try
        {
            firmware = FirmwareUpdates.Parse(output.ExitCode, output.Stdout, output.Stderr);
        }
        catch (FormatException ex)
        {
            firmwareProblem = ex.Message;
        }

        return new HostUpdates(entry.Name, apt?.Upgrades.Count, apt?.Removals.Count, aptProblem, firmware, firmwareProblem, LastRuns(entry.Name));
    }

    /// <summary>Each action's newest "started" entry (who, when) and its newest entry of all (how it ended, unless that is the start).</summary>
    public IReadOnlyList<HostLastRun> LastRuns(string spark)
    {
        var started = audit.LatestPerAction(spark, "host.", "started").ToDictionary(e => e.Action, StringComparer.Ordinal);
        var latest = audit.LatestPerAction(spark, "host.").ToDictionary(e => e.Action, StringComparer.Ordinal);
        return [.. HostActionNames.All.Select(action =>
        {
            var name = $"host.{action.ToRoute()}";
            var start = started.GetValueOrDefault(name);
            var last = latest.GetValueOrDefault(name);
            var ended = last is not null && last.Id != start?.Id ? last : null;
            return new HostLastRun(action.ToRoute(), start?.At, start?.Actor, ended?.At, ended?.Detail);
        })];
    }

    private SparkEntry Find(string spark) => fleet.Current.Find(spark) ?? throw new KeyNotFoundException($"No Spark is named '{spark}'.");
}
