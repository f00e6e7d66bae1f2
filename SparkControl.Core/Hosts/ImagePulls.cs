using System.Text.Json;

namespace SparkControl.Core.Hosts;

/// <summary>
/// An image as its registry describes it before a pull: the layers of the Spark's platform with their compressed sizes,
/// and the free space of the disk the engine keeps images on.
/// </summary>
/// <param name="Platform">The platform the layers are for (<c>linux/arm64</c>).</param>
/// <param name="Store">Free space where the engine keeps images; null when it could not be measured.</param>
public sealed record RemoteImage(string Image, string Platform, int Layers, long CompressedBytes, DiskSpace? Store)
{
    /// <summary>
    /// What a pull needs free: the compressed layers while they download, and the unpacked image, counted as twice the
    /// compressed size (container layers of Python, CUDA and model code unpack to two to three times their download).
    /// </summary>
    public long NeededBytes => CompressedBytes * 3;
}

/// <summary>How far a pull is: layers finished of layers seen, and the CLI's last line.</summary>
public sealed record PullProgress(int LayersDone, int LayersTotal, string Line, bool Completed = false);

/// <summary>
/// Reads <c>docker pull</c>'s output without a terminal: <c>ID: Pulling fs layer</c>, <c>ID: Waiting</c>,
/// <c>ID: Download complete</c>, <c>ID: Pull complete</c>, <c>ID: Already exists</c>, then <c>Digest:</c> and
/// <c>Status:</c>. A layer counts once seen and is done when pulled or already present.
/// </summary>
public sealed class PullLineReader
{
    private readonly Dictionary<string, bool> _layers = new(StringComparer.Ordinal);

    /// <summary>Takes one output line; the progress after it, or null for a line that is not about a layer or the end.</summary>
    public PullProgress? Read(string line)
    {
        var text = line.Trim();
        var colon = text.IndexOf(": ", StringComparison.Ordinal);
        if (colon == 12 && text[..12].All(char.IsAsciiHexDigitLower))
        {
            var id = text[..12];
            var status = text[(colon + 2)..];
            var done = status is "Pull complete" or "Already exists";
            _layers[id] = done || _layers.GetValueOrDefault(id);
            return Progress(text);
        }

        return text.StartsWith("Status: ", StringComparison.Ordinal) ? Progress(text) with { Completed = true } : null;
    }

    private PullProgress Progress(string line) => new(_layers.Count(l => l.Value), _layers.Count, line);
}

/// <summary>Reads <c>docker manifest inspect -v</c>: one platform's manifest, or a list of them for a multi-platform image.</summary>
public static class ImageManifests
{
    /// <summary>Docker's name for the CPU that <c>docker info</c> reports as <paramref name="machine"/> (<c>aarch64</c> → <c>arm64</c>).</summary>
    public static string DockerArchitecture(string machine) => machine.Trim() switch
    {
        "aarch64" or "arm64" => "arm64",
        "x86_64" or "amd64" => "amd64",
        var other => other,
    };

    /// <summary>
    /// The layers and compressed size for <paramref name="architecture"/> (docker's name); throws
    /// <see cref="FormatException"/> saying what is wrong when the output holds no manifest for it.
    /// </summary>
    public static (string Platform, int Layers, long CompressedBytes) ForArchitecture(string json, string architecture)
    {
        using var document = Parse(json);
        var root = document.RootElement;
        var entries = root.ValueKind == JsonValueKind.Array ? root.EnumerateArray().ToList() : [root];
        var platforms = new List<string>();
        foreach (var entry in entries)
        {
            var platform = entry.TryGetProperty("Descriptor", out var descriptor) && descriptor.TryGetProperty("platform", out var p) ? p : default;
            var arch = platform.ValueKind == JsonValueKind.Object && platform.TryGetProperty("architecture", out var a) ? a.GetString() : null;
            var os = platform.ValueKind == JsonValueKind.Object && platform.TryGetProperty("os", out var o) ? o.GetString() : "linux";
            platforms.Add($"{os}/{arch ?? "?"}");
            // A single-platform manifest without a platform (an older registry) is taken as the one there is.
            if (arch == architecture || (arch is null && entries.Count == 1))
            {
                var layers = Layers(entry);
                return ($"{os}/{arch ?? architecture}", layers.Count, layers.Sum());
            }
        }

        throw NoVariant(architecture, platforms);
    }

    /// <summary>The refusal for an image built for other platforms only (<c>linux/amd64</c> on a Spark).</summary>
    public static FormatException NoVariant(string architecture, IEnumerable<string> platforms) =>
        new($"the image has no linux/{architecture} variant (it has {string.Join(", ", platforms.Distinct())})");

    private static JsonDocument Parse(string json)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"docker manifest inspect printed something that is not JSON ({ex.Message})", ex);
        }
    }

    private static List<long> Layers(JsonElement entry)
    {
        foreach (var name in new[] { "SchemaV2Manifest", "OCIManifest" })
        {
            if (entry.TryGetProperty(name, out var manifest) && manifest.TryGetProperty("layers", out var layers) && layers.ValueKind == JsonValueKind.Array)
            {
                return [.. layers.EnumerateArray().Select(l => l.TryGetProperty("size", out var size) && size.TryGetInt64(out var bytes) ? bytes : 0)];
            }
        }

        throw new FormatException("the manifest lists no layers (only schema 2 and OCI manifests are read)");
    }
}

/// <summary>The registry an image reference names, by docker's rule.</summary>
public static class ImageRegistry
{
    /// <summary>Docker Hub's name for images without a registry part.</summary>
    public const string DockerHub = "docker.io";

    /// <summary>
    /// The first path component when it holds a '.' or a ':' or is <c>localhost</c> (docker's rule); otherwise the image
    /// is Docker Hub's: <c>nvcr.io/nim/x:1</c> → <c>nvcr.io</c>, <c>127.0.0.1:5000/nim/x</c> → <c>127.0.0.1:5000</c>,
    /// <c>library/ubuntu</c> → <c>docker.io</c>.
    /// </summary>
    public static string Of(string image)
    {
        var slash = image.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return DockerHub;
        }

        var first = image[..slash];
        return first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost" ? first : DockerHub;
    }

    /// <summary>Docker reaches a registry on 127.0.0.0/8 or localhost over plain HTTP by default; only there may the manifest read do the same.</summary>
    public static bool IsLoopback(string image)
    {
        var host = Of(image).Split(':')[0];
        return host == "localhost" || (System.Net.IPAddress.TryParse(host, out var address) && System.Net.IPAddress.IsLoopback(address));
    }
}
