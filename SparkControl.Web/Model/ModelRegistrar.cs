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
        }

        var added = await store.AddAsync(model, allowDuplicate, cancellationToken);
        return (added, await disk.MeasureAsync(added, cancellationToken));
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
