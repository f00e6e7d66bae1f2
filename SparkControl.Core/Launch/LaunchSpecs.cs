using System.Collections.Immutable;
using System.Globalization;
using SparkControl.Core.Catalog;
using SparkControl.Core.Hosts;

namespace SparkControl.Core.Launch;

/// <summary>Builds the exact container launch for a catalog model on a Spark.</summary>
public static class LaunchSpecs
{
    /// <summary>The one model container per Spark started with <c>docker run</c>.</summary>
    public const string ModelContainerName = "sparkcontrol-llm";

    /// <summary>Where the Spark's HF cache appears inside vLLM containers.</summary>
    public const string ContainerHfHome = "/root/.cache/huggingface";

    /// <summary>
    /// <c>docker run -d --name sparkcontrol-llm [--gpus all] --network host --ipc=host -v HF_CACHE:/root/.cache/huggingface
    /// -e HF_HUB_OFFLINE=1 --entrypoint vllm IMAGE serve MODEL --served-model-name NAME --port PORT [flags]</c>. No secret
    /// reaches the container: the weights are on the Spark before it starts.
    /// </summary>
    /// <param name="hfCachePath">The Spark's HF cache with <c>~</c> already resolved.</param>
    /// <param name="localRealPath">A local model directory's real path (symlinks resolved), mounted at the path as written.</param>
    /// <param name="adapters">LoRA adapters to serve with the model, each with its real path, mounted read-only at the path as written.</param>
    public static ContainerLaunchSpec Vllm(ModelDefinition model, SparkDefinition spark, string hfCachePath, string? localRealPath = null, IReadOnlyList<(LoraAdapter Adapter, string RealPath)>? adapters = null)
    {
        adapters ??= [];
        var mounts = ImmutableArray.CreateBuilder<BindMount>();
        mounts.Add(new BindMount(hfCachePath, ContainerHfHome, ReadOnly: false));
        var environment = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        string modelArgument;
        switch (model.Source)
        {
            case LocalSource local:
                // The directory is served by path, read-only, and the hub is never asked about it.
                mounts.Add(new BindMount(localRealPath ?? local.Path, local.Path, ReadOnly: true));
                environment["HF_HUB_OFFLINE"] = "1";
                modelArgument = local.Path;
                break;
            case HuggingFaceSource hf:
                // The swap downloads the weights first (with the token, on stdin): the server reads its cache offline.
                environment["HF_HUB_OFFLINE"] = "1";
                modelArgument = hf.Repo;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(model), "unknown model source");
        }

        foreach (var (adapter, real) in adapters)
        {
            mounts.Add(new BindMount(real, adapter.Path, ReadOnly: true));
        }

        mounts.AddRange(ExtraMounts(spark));

        var served = adapters.Select(a => a.Adapter).ToList();
        return new ContainerLaunchSpec
        {
            Name = ModelContainerName,
            Image = model.Image ?? spark.VllmImage,
            Entrypoint = "vllm",
            Command = VllmArguments.Serve(model, modelArgument, adapters: served),
            Environment = environment.ToImmutable(),
            Mounts = mounts.ToImmutable(),
            Labels = ModelLabels(model, served),
            Gpus = spark.GpusEnabled ? "all" : null,
            HostNetwork = true,
            HostIpc = true,
        };
    }

    /// <summary>Where NIM keeps downloaded model profiles on the Spark, mounted at /opt/nim/.cache.</summary>
    public const string NimCachePath = "~/.cache/nim";

    /// <summary>The registry NIM images come from; logging in uses the literal user <c>$oauthtoken</c> and the NGC key on stdin.</summary>
    public const string NimRegistry = "nvcr.io";

    public const string NimRegistryUser = "$oauthtoken";

    /// <summary>
    /// <c>docker run -d --name sparkcontrol-llm [--gpus all] --network host --shm-size 16g -v NIM_CACHE:/opt/nim/.cache
    /// -e NIM_SERVER_PORT=PORT -e NIM_SERVED_MODEL_NAME=NAME --env-file SECRETS IMAGE</c>. NGC_API_KEY reaches the
    /// container only through the 0600 env file.
    /// </summary>
    /// <param name="nimCachePath">The Spark's NIM cache with <c>~</c> already resolved.</param>
    public static ContainerLaunchSpec Nim(ModelDefinition model, SparkDefinition spark, string nimCachePath, string secretsEnvFile)
    {
        if (model.Image is null)
        {
            throw new ArgumentException($"The NIM model {model.Id} names no image (nvcr.io/nim/...).", nameof(model));
        }

        return new ContainerLaunchSpec
        {
            Name = ModelContainerName,
            Image = model.Image,
            Environment = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, new Dictionary<string, string>
            {
                ["NIM_SERVER_PORT"] = model.Port.ToString(CultureInfo.InvariantCulture),
                ["NIM_SERVED_MODEL_NAME"] = model.ServedName,
            }),
            EnvFile = secretsEnvFile,
            Mounts = [new BindMount(nimCachePath, "/opt/nim/.cache", ReadOnly: false), .. ExtraMounts(spark)],
            Labels = ModelLabels(model),
            Gpus = spark.GpusEnabled ? "all" : null,
            HostNetwork = true,
            HostIpc = false,
            ShmSizeBytes = 16L << 30,
        };
    }

    /// <summary>The Spark's <c>extraMounts</c> (<c>host:container[:ro]</c>), which every model container gets.</summary>
    private static IEnumerable<BindMount> ExtraMounts(SparkDefinition spark) =>
        spark.ExtraMounts.Select(extra => extra.Split(':')).Select(parts => new BindMount(parts[0], parts[1], parts.Length > 2 && parts[2] == "ro"));

    /// <summary>
    /// The labels that say which model a container serves; with adapters, also which ones (a swap to the same model with
    /// other adapters starts it again instead of following the running one).
    /// </summary>
    public static ImmutableSortedDictionary<string, string> ModelLabels(ModelDefinition model, IReadOnlyList<LoraAdapter>? adapters = null)
    {
        var labels = new Dictionary<string, string>
        {
            [ContainerLabels.Role] = ContainerLabels.ModelRole,
            [ContainerLabels.Model] = model.Id,
            [ContainerLabels.ServedName] = model.ServedName,
            [ContainerLabels.Port] = model.Port.ToString(CultureInfo.InvariantCulture),
        };
        if (adapters is { Count: > 0 })
        {
            labels[ContainerLabels.Adapters] = AdaptersLabel(adapters);
        }

        return ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, labels);
    }

    /// <summary>The adapters label's value: the <c>--lora-modules</c> values in order; empty without adapters.</summary>
    public static string AdaptersLabel(IEnumerable<LoraAdapter> adapters) => string.Join(',', adapters.Select(a => a.Module));
}
