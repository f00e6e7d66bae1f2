using System.Globalization;
using SparkControl.Core.Catalog;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Nim;

/// <summary>
/// What an operator asks for when installing a NIM: the image, the Spark, the name and port it serves on, its memory,
/// and whether it becomes a catalog model (swapped to), a monitored service (started as one), or both.
/// </summary>
public sealed record NimInstallRequest
{
    public required string Spark { get; init; }
    public required string Image { get; init; }
    public required string ServedName { get; init; }
    public int Port { get; init; } = 8000;

    /// <summary>The NIM cache on the Spark; null means <c>~/.cache/nim</c>.</summary>
    public string? CacheDir { get; init; }

    public double MemoryEstimateGiB { get; init; }
    public bool RegisterModel { get; init; } = true;
    public bool RegisterService { get; init; }

    /// <summary>The most memory a NIM may claim: a Spark has about 120 GiB, a pair twice that.</summary>
    public const double MaxMemoryEstimateGiB = 256;

    /// <summary>The catalog id (and service name) the NIM gets: its served name made into an id.</summary>
    public string ModelId => Validators.ModelId(ServedName) is null ? ServedName : ModelIds.Derive(ServedName);

    /// <summary>The container a service-only install runs in.</summary>
    public string ServiceContainer => $"nim-{ModelId}";

    /// <summary>Field by field, the one set of rules the form and <c>POST /api/nim</c> share.</summary>
    public static IReadOnlyList<FieldError> Validate(NimInstallRequest request, FleetConfiguration fleet)
    {
        var errors = new List<FieldError>();
        void Check(string field, string? error)
        {
            if (error is not null)
            {
                errors.Add(new FieldError(field, error));
            }
        }

        Check("spark", Validators.Name(request.Spark, "spark") ?? (fleet.Find(request.Spark) is null ? $"No Spark is named '{Validators.Printable(request.Spark)}'." : null));
        Check("image", SparkValidation.ImageReference(request.Image));
        Check("servedName", Validators.ServedName(request.ServedName));
        Check("port", Validators.Port(request.Port));
        if (request.CacheDir is not null)
        {
            Check("cacheDir", Validators.HomeOrAbsolutePath(request.CacheDir, "cacheDir"));
        }

        if (!double.IsFinite(request.MemoryEstimateGiB) || request.MemoryEstimateGiB <= 0 || request.MemoryEstimateGiB > MaxMemoryEstimateGiB)
        {
            Check("memoryEstimateGiB", $"memoryEstimateGiB must be more than 0 and at most {MaxMemoryEstimateGiB.ToString(CultureInfo.InvariantCulture)} (the unified memory the NIM takes; its model card says how much)");
        }

        if (!request.RegisterModel && !request.RegisterService)
        {
            Check("registerModel", "choose registerModel (a catalog model, swapped to), registerService (a monitored service), or both: a NIM nobody manages would hold its memory unseen");
        }

        return errors;
    }

    /// <summary>The catalog entry a model install adds: a custom NIM model with the image, port, cache and memory given.</summary>
    public ModelDefinition ToModel() => new()
    {
        Id = ModelId,
        DisplayName = $"{ServedName} (NIM)",
        Source = new HuggingFaceSource(RepoOf(Image)),
        ServedName = ServedName,
        Runtime = ModelRuntime.Nim,
        Image = Image,
        Port = Port,
        NimCache = CacheDir,
        MemoryEstimateGiB = MemoryEstimateGiB,
        Origin = ModelOrigin.Custom,
        Notes = $"Installed from {Image}.",
    };

    /// <summary>
    /// The service entry: NIM health (<c>/v1/health/ready</c>, live told apart) on its port. A NIM that is also a model
    /// runs in the swaps' container, which serves other models too, so its service is probed by port alone.
    /// </summary>
    public ServiceDefinition ToService() => new()
    {
        Spark = Spark,
        Name = ModelId,
        Kind = ServiceKind.Nim,
        Container = RegisterModel ? null : ServiceContainer,
        Port = Port,
        MemoryEstimateGiB = RegisterModel ? null : MemoryEstimateGiB,
    };

    /// <summary>
    /// The model's name inside NGC, from the image (<c>nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8</c> →
    /// <c>meta/llama-3.1-8b-instruct</c>): the catalog's source, which tells one NIM model from another.
    /// </summary>
    public static string RepoOf(string image)
    {
        var name = image.Split('@')[0];
        var lastSlash = name.LastIndexOf('/');
        var colon = name.LastIndexOf(':');
        if (colon > lastSlash)
        {
            name = name[..colon];
        }

        var parts = name.Split('/');
        var repo = parts.Length >= 2 ? $"{parts[^2]}/{parts[^1]}" : $"nim/{parts[^1]}";
        return Validators.HfRepoId(repo) is null ? repo : $"nim/{ModelIds.Derive(parts[^1])}";
    }
}
