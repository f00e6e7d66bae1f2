using SparkControl.Core.Catalog;
using SparkControl.Core.Remote;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Hosts;

namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// A panel's data directory for one Spark, spark-1, that is a test sshd in front of the test dockerd: the Spark's host
/// key pinned, its login key installed, <c>sparks.yaml</c>, and the models and services the test gives.
/// </summary>
public static class SparkOnDocker
{
    /// <summary>
    /// The panel's settings for a Spark that is this machine: an SSH failure is the test's to see, not retried away;
    /// and no system reserve on top of the model's share, because the machine's free memory belongs to whatever else
    /// runs on it (a second CI run, the browsers). With the reserve, a swap's preflight refused a 1.2 GiB model when
    /// only 3.6 GiB of the machine were free.
    /// </summary>
    public static Dictionary<string, string?> AppSettings() => new()
    {
        ["SparkControl:Ssh:RetryAttempts"] = "0",
        ["SparkControl:Swap:SystemReserveGiB"] = "0",
    };

    /// <summary>spark-1 as the panel reaches it: the stand-ins first on PATH, no GPU, the simulator image for vLLM.</summary>
    public static SparkDefinition Definition(SshdFixture sshd, SparkBin bin, string dataDirectory, IEnumerable<string> modelRoots, string? hfCachePath = null) => new()
    {
        Name = "spark-1",
        Host = "127.0.0.1",
        Port = sshd.Port,
        User = sshd.User,
        KeyPath = sshd.InstallClientKey(dataDirectory),
        PathPrefix = [bin.Path],
        Gpus = "none",
        HfCachePath = hfCachePath ?? "~/.cache/huggingface",
        ModelRoots = [.. modelRoots],
        VllmImage = DockerdFixture.BaseImage,
        ExtraMounts = [.. DockerdFixture.HostRuntimeMounts],
    };

    public static async Task WriteAsync(string dataDirectory, SshdFixture sshd, SparkDefinition spark, IEnumerable<ModelDefinition> models, IEnumerable<ServiceDefinition>? services = null)
    {
        var key = sshd.HostPublicKey.Split(' ');
        await File.WriteAllTextAsync(Path.Combine(dataDirectory, HostKeyStore.FileName), $"[127.0.0.1]:{sshd.Port} {key[0]} {key[1]}\n");
        await File.WriteAllTextAsync(Path.Combine(dataDirectory, SparksYaml.FileName), SparksYaml.Write([spark]));
        await File.WriteAllTextAsync(Path.Combine(dataDirectory, CatalogStore.CustomFileName), new SparkControl.Core.Yaml.YamlWriter().Add("models", models.Select(CatalogYaml.WriteModel)).ToYaml());
        if (services is not null)
        {
            await File.WriteAllTextAsync(Path.Combine(dataDirectory, ServicesYaml.FileName), ServicesYaml.Write([.. services]));
        }
    }

    /// <summary>A fine-tuned model's directory as training leaves it: config, weights, tokenizer.</summary>
    public static async Task<string> CreateLocalModelAsync(string root, string name)
    {
        var path = Path.Combine(root, name);
        Directory.CreateDirectory(path);
        await File.WriteAllTextAsync(Path.Combine(path, "config.json"), """{"architectures":["Qwen3ForCausalLM"],"model_type":"qwen3","max_position_embeddings":8192}""");
        await File.WriteAllBytesAsync(Path.Combine(path, "model.safetensors"), new byte[100_000]);
        await File.WriteAllTextAsync(Path.Combine(path, "tokenizer.json"), "{}");
        return path;
    }

    /// <summary>A model on spark-1 with a small memory share (the test machine's whole memory is the budget here).</summary>
    public static ModelDefinition Model(string id, ModelSource source, int port) => new()
    {
        Id = id,
        DisplayName = id,
        Source = source,
        ServedName = id,
        Port = port,
        Flags = new VllmFlags { GpuMemoryUtilization = 0.05, MaxModelLen = 4096 },
        Origin = ModelOrigin.Custom,
    };

    /// <summary>True when a model server on <paramref name="port"/> lists <paramref name="served"/>.</summary>
    public static async Task<bool> ServesAsync(int port, string served)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            return (await http.GetStringAsync($"http://127.0.0.1:{port}/v1/models")).Contains($"\"{served}\"", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            // Refused, or not answering yet: a server that has just opened its port in a container on a loaded
            // machine can take longer than the timeout over its first request.
            return false;
        }
    }
}
