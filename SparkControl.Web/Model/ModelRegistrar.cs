using SparkControl.Core.Catalog;
using SparkControl.Core.Disk;
using SparkControl.Core.Sparks;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Model;

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
        var sparks = fleet.Current.Sparks;
        var head = sparks.FirstOrDefault(s => s.Definition.LaunchCluster is { Nodes.Count: > 1 })
            ?? throw new ValidationFailedException([new FieldError("placement", "no Spark has launchCluster settings with two nodes; set them on the head Spark in Settings")]);
        var problems = await LocalModelInspector.CheckOnEveryNodeAsync(path, [head, .. sparks.Where(s => s != head)], cancellationToken);
        if (problems.Count > 0)
        {
            throw new ValidationFailedException([.. problems.Select(p => new FieldError("path", p))]);
        }
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
