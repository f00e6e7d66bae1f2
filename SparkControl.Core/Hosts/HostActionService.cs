using System.Runtime.CompilerServices;
using SparkControl.Core.History;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;

namespace SparkControl.Core.Hosts;

/// <summary>What stands between an operator and a host action: passwordless sudo, and model containers still serving.</summary>
public sealed record HostActionCheck(string Spark, HostAction Action, bool SudoOk, string? SudoHelp, IReadOnlyList<string> RunningModels)
{
    public bool NeedsStopFirst => Action == HostAction.Reboot && RunningModels.Count > 0;
}

/// <summary>A host action was refused before anything ran; the message says what to do.</summary>
public sealed class HostActionRefusedException(string message) : InvalidOperationException(message);

/// <summary>
/// Runs apt-get update/upgrade and reboot on a Spark, streaming their output. A reboot is refused while a model
/// container runs unless the operator asked to stop it first; a launch-cluster.sh container is stopped with the
/// script's own stop, which also stops it on the other Spark.
/// </summary>
public sealed class HostActionService(SparkFleet fleet, AuditLog audit, HealthMonitor health, SparkWork work)
{
    public async Task<HostActionCheck> CheckAsync(string spark, HostAction action, CancellationToken cancellationToken)
    {
        var entry = Find(spark);
        var sudo = await entry.Host.HasPasswordlessSudoAsync(cancellationToken);
        var running = await RunningModelsAsync(entry, cancellationToken);
        return new HostActionCheck(entry.Name, action, sudo, sudo ? null : HostActionNames.SudoHelp(entry.Definition.User), [.. running.Select(r => r.Name)]);
    }

    public async IAsyncEnumerable<string> RunAsync(string spark, HostAction action, bool stopModelsFirst, string actor, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var entry = Find(spark);
        var check = await CheckAsync(spark, action, cancellationToken);
        if (!check.SudoOk)
        {
            throw new HostActionRefusedException(check.SudoHelp!);
        }

        if (check.NeedsStopFirst && !stopModelsFirst)
        {
            throw new HostActionRefusedException($"{spark} still serves {string.Join(", ", check.RunningModels)}. Tick \"stop it first\" to stop it before the reboot, or unload the model.");
        }

        var target = entry.Name;
        using var working = work.Begin([target], HostActionNames.Describe(action));
        audit.Record(actor, $"host.{action.ToRoute()}", target, "started");
        var finished = false;
        try
        {
            if (action == HostAction.Reboot)
            {
                foreach (var (name, clusterSettings) in await RunningModelsAsync(entry, cancellationToken))
                {
                    if (clusterSettings is not null)
                    {
                        yield return $"Stopping {name} with launch-cluster.sh stop (on every node)…";
                        await entry.Host.LaunchClusterStopAsync(clusterSettings, cancellationToken);
                    }
                    else
                    {
                        yield return $"Stopping {name}…";
                        await entry.Host.StopContainerAsync(name, ServiceActions.StopGrace, cancellationToken);
                    }
                }
            }

            await using var output = entry.Host.RunHostActionAsync(action, cancellationToken).GetAsyncEnumerator(cancellationToken);
            while (true)
            {
                string line;
                try
                {
                    if (!await output.MoveNextAsync())
                    {
                        break;
                    }

                    line = Services.LogRedactor.Redact(output.Current);
                }
                catch (SparkUnreachableException) when (action == HostAction.Reboot)
                {
                    // A reboot ends the SSH session that asked for it: that is success, not a failure.
                    line = $"The connection closed: {spark} is rebooting and shows as unreachable until it is back.";
                    finished = true;
                }

                yield return line;
                if (finished)
                {
                    break;
                }
            }

            finished = true;
        }
        finally
        {
            audit.Record(actor, $"host.{action.ToRoute()}", target, finished ? "finished" : "did not finish");
            health.RequestCheck();
        }
    }

    private SparkEntry Find(string spark) => fleet.Current.Find(spark) ?? throw new KeyNotFoundException($"No Spark is named '{spark}'.");

    /// <summary>Model containers running on the Spark: those the panel labelled, and launch-cluster.sh's container.</summary>
    private static async Task<IReadOnlyList<(string Name, LaunchClusterSettings? Cluster)>> RunningModelsAsync(SparkEntry entry, CancellationToken cancellationToken)
    {
        var containers = await entry.Host.ListContainersAsync(cancellationToken);
        var cluster = entry.Definition.LaunchCluster;
        return [.. containers
            .Where(c => c.State == ContainerStatus.Running && (c.Labels.GetValueOrDefault(ContainerLabels.Role) == ContainerLabels.ModelRole || c.Name == cluster?.ContainerName))
            .Select(c => (c.Name, c.Name == cluster?.ContainerName ? cluster : null))];
    }
}
