using SparkControl.Core.Catalog;
using SparkControl.Core.Disk;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Model;

/// <summary>Catalog models as the API and the forms send and show them, mapped in one place.</summary>
public static class ModelInput
{
    /// <summary>A model to add; <paramref name="AllowDuplicate"/> adds a second model with weights the catalog already has.</summary>
    /// <param name="Placement">"single" (the default) or "cluster": both Sparks with tensor parallel 2 through launch-cluster.sh.</param>
    public sealed record AddModelBody(string? Kind, string? Repo, string? Revision, string? Spark, string? Path, string? Id, string? ServedName, bool? AllowDuplicate = null, string? Placement = null);

    public sealed record FlagsBody(
        int? MaxModelLen,
        double? GpuMemoryUtilization,
        int? MaxNumSeqs,
        int? TensorParallelSize,
        string? Quantization,
        string? KvCacheDtype,
        bool? EnablePrefixCaching,
        bool? EnforceEager,
        bool? TrustRemoteCode,
        string? ToolCallParser,
        string? ReasoningParser,
        string[]? ExtraArgs);

    public sealed record SourceView(string Kind, string? Repo, string? Revision, string? Spark, string? Path);

    public sealed record DiskView(string Spark, string Path, bool Present, bool Partial, long? Bytes, long? ExpectedBytes, long? FreeBytes, DateTimeOffset MeasuredAt, string? Error);

    public sealed record ModelView(
        string Id,
        string DisplayName,
        SourceView Source,
        string ServedName,
        string[] Aliases,
        string Runtime,
        string Placement,
        string Task,
        int Port,
        string? Image,
        FlagsBody Flags,
        double? MemoryEstimateGiB,
        double? DownloadSizeGiB,
        string? Notes,
        string Origin,
        string Version,
        DiskView[] Disk,
        int? IdleUnloadAfterSeconds,
        AdapterView[] Adapters);

    /// <summary>A LoRA adapter served with the model under <see cref="Name"/>.</summary>
    public sealed record AdapterView(string Name, string Spark, string Path, int Rank, string? BaseModel);

    /// <summary>A model's idle time before it is unloaded, in whole seconds; null keeps it loaded.</summary>
    public sealed record IdleBody(int? IdleUnloadAfterSeconds);

    /// <summary>Defaults for models added from the panel: a Spark shares its memory with other services, so vLLM's own 0.9 is too greedy.</summary>
    public static readonly VllmFlags NewModelFlags = new() { GpuMemoryUtilization = 0.5, MaxNumSeqs = 8, EnablePrefixCaching = true };

    /// <summary>A new model from the add forms or <c>POST /api/models</c>; the id and served name are derived when absent and made unique.</summary>
    public static ModelDefinition ToDefinition(AddModelBody body, CatalogSnapshot catalog)
    {
        var errors = new List<FieldError>();
        var (source, derivedFrom) = ReadSource(body, errors);
        if (!string.IsNullOrEmpty(body.Id) && Validators.ModelId(body.Id) is { } idError)
        {
            errors.Add(new FieldError("id", idError));
        }

        if (!string.IsNullOrEmpty(body.ServedName) && Validators.ServedName(body.ServedName) is { } servedError)
        {
            errors.Add(new FieldError("servedName", servedError));
        }

        var placement = body.Placement is null ? ModelPlacement.Single : ModelEnumNames.ParsePlacement(body.Placement);
        if (placement is null)
        {
            errors.Add(new FieldError("placement", $"placement must be 'single' or 'cluster', not '{Validators.Printable(body.Placement!)}'"));
        }

        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        // Without a served name of its own the id is served, so a derived id also skips names other models answer to.
        var id = string.IsNullOrEmpty(body.Id)
            ? ModelIds.Unique(ModelIds.Derive(derivedFrom!), candidate => catalog.Find(candidate) is not null || (string.IsNullOrEmpty(body.ServedName) && catalog.FindByServedName(candidate) is not null))
            : body.Id;
        return new ModelDefinition
        {
            Id = id,
            DisplayName = id,
            Source = source!,
            ServedName = string.IsNullOrEmpty(body.ServedName) ? id : body.ServedName,
            Flags = NewModelFlags,
            Origin = ModelOrigin.Custom,
            // Both Sparks means eugr's launch-cluster.sh, which splits the model over them with tensor parallel 2.
            Placement = placement!.Value,
            Runtime = placement == ModelPlacement.Cluster ? ModelRuntime.LaunchCluster : ModelRuntime.Vllm,
        };
    }

    /// <summary>Where the weights come from (a Hugging Face repo or a directory on a Spark) and what the id is derived from; field errors go to <paramref name="errors"/>.</summary>
    private static (ModelSource? Source, string? DerivedFrom) ReadSource(AddModelBody body, List<FieldError> errors)
    {
        switch (body.Kind)
        {
            case "hf":
                if (Validators.HfRepoId(body.Repo) is { } repoError)
                {
                    errors.Add(new FieldError("repo", repoError));
                }

                if (Validators.HfRevision(body.Revision) is { } revisionError)
                {
                    errors.Add(new FieldError("revision", revisionError));
                }

                return (new HuggingFaceSource(body.Repo ?? string.Empty, string.IsNullOrEmpty(body.Revision) ? null : body.Revision), body.Repo);
            case "local":
                if (Validators.Name(body.Spark, "spark") is { } sparkError)
                {
                    errors.Add(new FieldError("spark", sparkError));
                }

                if (Validators.AbsolutePath(body.Path) is { } pathError)
                {
                    errors.Add(new FieldError("path", pathError));
                }

                return (new LocalSource(body.Spark ?? string.Empty, body.Path ?? string.Empty), body.Path);
            default:
                errors.Add(new FieldError("kind", "kind must be hf (a Hugging Face repo) or local (a directory on a Spark)"));
                return (null, null);
        }
    }

    public static VllmFlags ToFlags(FlagsBody body) => new()
    {
        MaxModelLen = body.MaxModelLen,
        GpuMemoryUtilization = body.GpuMemoryUtilization,
        MaxNumSeqs = body.MaxNumSeqs,
        TensorParallelSize = body.TensorParallelSize,
        Quantization = string.IsNullOrEmpty(body.Quantization) ? null : body.Quantization,
        KvCacheDtype = string.IsNullOrEmpty(body.KvCacheDtype) ? null : body.KvCacheDtype,
        EnablePrefixCaching = body.EnablePrefixCaching,
        EnforceEager = body.EnforceEager ?? false,
        TrustRemoteCode = body.TrustRemoteCode ?? false,
        ToolCallParser = string.IsNullOrEmpty(body.ToolCallParser) ? null : body.ToolCallParser,
        ReasoningParser = string.IsNullOrEmpty(body.ReasoningParser) ? null : body.ReasoningParser,
        ExtraArgs = [.. body.ExtraArgs ?? []],
    };

    public static FlagsBody FromFlags(VllmFlags flags) => new(
        flags.MaxModelLen, flags.GpuMemoryUtilization, flags.MaxNumSeqs, flags.TensorParallelSize, flags.Quantization, flags.KvCacheDtype,
        flags.EnablePrefixCaching, flags.EnforceEager, flags.TrustRemoteCode, flags.ToolCallParser, flags.ReasoningParser, [.. flags.ExtraArgs]);

    public static ModelView View(ModelDefinition model, IEnumerable<ModelDiskUsage> disk) => new(
        model.Id,
        model.DisplayName,
        model.Source switch
        {
            HuggingFaceSource hf => new SourceView("hf", hf.Repo, hf.Revision, null, null),
            LocalSource local => new SourceView("local", null, null, local.Spark, local.Path),
            _ => throw new ArgumentOutOfRangeException(nameof(model)),
        },
        model.ServedName,
        [.. model.Aliases],
        model.Runtime.ToYaml(),
        model.Placement.ToYaml(),
        model.Task.ToYaml(),
        model.Port,
        model.Image,
        FromFlags(model.Flags),
        model.MemoryEstimateGiB,
        model.DownloadSizeGiB,
        model.Notes,
        model.Origin.ToString().ToLowerInvariant(),
        CatalogStore.Version(model),
        [.. disk.Select(d => new DiskView(d.Spark, d.Path, d.Present, d.Partial, d.Bytes, d.ExpectedBytes, d.FreeBytes, d.MeasuredAt, d.Error))],
        model.IdleUnloadAfter is { } idle ? (int)idle.TotalSeconds : null,
        [.. model.Adapters.Select(a => new AdapterView(a.Name, a.Spark, a.Path, a.Rank, a.BaseModel))]);
}
