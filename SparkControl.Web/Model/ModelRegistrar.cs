using SparkControl.Core.Catalog;
using SparkControl.Core.Disk;
using SparkControl.Core.Sparks;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Model;

/// <summary>What a model on both Sparks lacks; with <see cref="CopyFrom"/> set, a copy between the Sparks would mend it.</summary>
public sealed record ClusterCheck(IReadOnlyList<string> Problems, string? CopyFrom, string? CopyTo);

/// <summary>Adds a model to the catalog the same way for the API and the forms: validate, check a local directory on its Spark, save, measure.</summary>
public sealed class ModelRegistrar(CatalogStore store, SparkFleet fleet, DiskSizeProbe disk)
{
    public async Task<(ModelDefinition Model, IReadOnlyList<ModelDiskUsage> Disk)> AddAsync(ModelInput.AddModelBody body, CancellationToken cancellationToken)
    {
        var model = ModelInput.ToDefinition(body, store.Current);
        var allowDuplicate = body.AllowDuplicate == true;
        DuplicateModelException.ThrowIfExists(store.Current, model.Source, allowDuplicate);
        if (model.Source is LocalSource local)
        {
            var check = await CheckAsync(local.Spark, local.Path, cancellationToken);
            if (!check.CanRegister)
            {
                throw new ValidationFailedException([.. check.Problems.Select(p => new FieldError("path", p))]);
            }

            // A path through a symbolic link is the same weights as the directory it leads to.
            if (check.RealPath is { } real && real != local.Path)
            {
                DuplicateModelException.ThrowIfExists(store.Current, local with { Path = real }, allowDuplicate);
            }

            if (model.Placement == ModelPlacement.Cluster)
            {
                await CheckOnBothAsync(local.Path, cancellationToken);
            }
        }

        var added = await store.AddAsync(model, allowDuplicate, cancellationToken);
        return (added, await disk.MeasureAsync(added, cancellationToken));
    }

    /// <summary>
    /// A local model on both Sparks must lie at the same path on each, inside each one's roots, with the same size; the
    /// Sparks are those a cluster swap takes (the head with two launch-cluster nodes, then the other).
    /// </summary>
    private async Task CheckOnBothAsync(string path, CancellationToken cancellationToken)
    {
        var check = await CheckClusterAsync(null, path, cancellationToken);
        if (check.Problems.Count > 0)
        {
            throw new ValidationFailedException([.. check.Problems.Select(p => new FieldError("path", p))]);
        }
    }

    /// <summary>
    /// The check a model on both Sparks needs, and when it fails because the directory is on one Spark only (or differs),
    /// the copy that would fix it: from the Spark that has it (<paramref name="preferredSource"/> when both do) to the other.
    /// </summary>
    public async Task<ClusterCheck> CheckClusterAsync(string? preferredSource, string path, CancellationToken cancellationToken)
    {
        if (Validators.AbsolutePath(path) is { } error)
        {
            throw new ValidationFailedException([new FieldError("path", error)]);
        }

        var link = ModelCopier.ClusterLink(fleet.Current)
            ?? throw new ValidationFailedException([new FieldError("placement", "no Spark has launchCluster settings with two nodes; set them on the head Spark in Settings")]);
        var sparks = link.Select(l => l.Spark).ToList();
        var (problems, present) = await LocalModelInspector.CheckOnEveryNodeAsync(path, sparks, cancellationToken);
        if (problems.Count == 0)
        {
            return new ClusterCheck(problems, null, null);
        }

        var from = present.Count == 1 ? present[0] : present.FirstOrDefault(s => string.Equals(s.Name, preferredSource, StringComparison.OrdinalIgnoreCase));
        var to = from is null ? null : sparks.First(s => s != from);
        return new ClusterCheck(problems, from?.Name, to?.Name);
    }

    /// <summary>Checks a directory on a Spark: allow-listed roots, realpath, and the files of a full model.</summary>
    public async Task<LocalModelCheck> CheckAsync(string spark, string path, CancellationToken cancellationToken)
    {
        var entry = fleet.Current.Find(spark) ?? throw new ValidationFailedException([new FieldError("spark", $"No Spark is named '{spark}'.")]);
        if (Validators.AbsolutePath(path) is { } error)
        {
            throw new ValidationFailedException([new FieldError("path", error)]);
        }

        return await LocalModelInspector.InspectAsync(entry.Host, entry.Definition, path, cancellationToken);
    }
}
