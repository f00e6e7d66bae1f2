using SparkControl.Core.Sparks;
using SparkControl.Core.Hosts;

namespace SparkControl.Core.Maintenance;

public sealed record DiskSpaceView(string Path, long TotalBytes, long AvailableBytes, string MountPoint);

public sealed record ModelContainerView(string Container, string? Model, string Image, string? ImageId, ContainerStatus Status);

/// <summary>The host page: versions, uptime, memory, disks, whether host actions can run, and what each model container runs.</summary>
public sealed record HostOverview(string Spark, HostFacts Facts, MemoryInfo Memory, IReadOnlyList<DiskSpaceView> Disks, bool PasswordlessSudo, string? SudoHelp, IReadOnlyList<ModelContainerView> ModelContainers);

public sealed class HostOverviewReader(SparkFleet fleet)
{
    public async Task<HostOverview> ReadAsync(string spark, CancellationToken cancellationToken)
    {
        var entry = fleet.Current.Find(spark) ?? throw new KeyNotFoundException($"No Spark is named '{spark}'.");
        var host = entry.Host;
        var facts = host.GetHostFactsAsync(cancellationToken);
        var memory = host.GetMemoryInfoAsync(cancellationToken);
        var sudo = host.HasPasswordlessSudoAsync(cancellationToken);
        var containers = host.ListContainersAsync(cancellationToken);
        await Task.WhenAll(facts, memory, sudo, containers).ConfigureAwait(false);

        var disks = new List<DiskSpaceView>();
        foreach (var path in new[] { "/", await host.ExpandHomeAsync(entry.Definition.HfCachePath, cancellationToken).ConfigureAwait(false) }.Distinct(StringComparer.Ordinal))
        {
            if (await host.GetDiskSpaceAsync(path, cancellationToken).ConfigureAwait(false) is { } space && disks.All(d => d.MountPoint != space.MountPoint))
            {
                disks.Add(new DiskSpaceView(path, space.TotalBytes, space.AvailableBytes, space.MountPoint));
            }
        }

        var models = new List<ModelContainerView>();
        foreach (var container in containers.Result.Where(c => c.Labels.GetValueOrDefault(ContainerLabels.Role) == ContainerLabels.ModelRole || c.Name == entry.Definition.LaunchCluster?.ContainerName))
        {
            var info = await host.InspectContainerAsync(container.Name, cancellationToken).ConfigureAwait(false);
            models.Add(new ModelContainerView(container.Name, container.Labels.GetValueOrDefault(ContainerLabels.Model), container.Image, info?.ImageId, container.State));
        }

        return new HostOverview(entry.Name, facts.Result, memory.Result, disks, sudo.Result, sudo.Result ? null : HostActionNames.SudoHelp(entry.Definition.User), models);
    }
}
