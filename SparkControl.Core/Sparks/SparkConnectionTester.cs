using SparkControl.Core.Remote;
using SparkControl.Core.Hosts;

namespace SparkControl.Core.Sparks;

/// <summary>The result of "Test connection": whether commands run, and if not, why and what to do.</summary>
public sealed record SparkConnectionTest(string Spark, bool Ok, string State, string Message, string? Fingerprint, string? PinnedFingerprint, HostFacts? Facts);

/// <summary>Connects to a Spark and reads its host facts; a first contact reports the host key to approve.</summary>
public sealed class SparkConnectionTester(SparkFleet fleet, ConnectivityTracker connectivity, HostKeyStore hostKeys)
{
    public async Task<SparkConnectionTest> TestAsync(string spark, CancellationToken cancellationToken)
    {
        var entry = fleet.Current.Find(spark) ?? throw new KeyNotFoundException($"No Spark is named '{spark}'.");
        var pinned = entry.IsSimulated ? null : hostKeys.PinnedFingerprint(entry.Definition.Host, entry.Definition.Port);
        try
        {
            var facts = await entry.Host.GetHostFactsAsync(cancellationToken).ConfigureAwait(false);
            var message = entry.IsSimulated
                ? "The simulated Spark answers."
                : $"Connected as {entry.Definition.User}: {facts.Os}, kernel {facts.Kernel}, Docker {facts.DockerVersion ?? "not found"}, driver {facts.DriverVersion ?? "not found"}.";
            return new SparkConnectionTest(entry.Name, true, ConnectionState.Connected.ToString(), message, null, pinned, facts);
        }
        catch (HostKeyNotApprovedException ex)
        {
            return new SparkConnectionTest(entry.Name, false, (ex.Changed ? ConnectionState.HostKeyChanged : ConnectionState.HostKeyNotApproved).ToString(), ex.Message, ex.Fingerprint, ex.PreviousFingerprint ?? pinned, null);
        }
        catch (Exception ex) when (ex is SparkUnreachableException or SparkCommandException or RemoteCommandTimeoutException)
        {
            var state = connectivity.Find(entry.Name)?.State ?? ConnectionState.Unreachable;
            return new SparkConnectionTest(entry.Name, false, state.ToString(), ex.Message, null, pinned, null);
        }
    }
}
