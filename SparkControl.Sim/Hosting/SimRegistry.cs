using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using SparkControl.Core.Remote;

namespace SparkControl.Sim.Hosting;

/// <summary>An image a simulated registry holds: its layers' compressed sizes, for one platform.</summary>
public sealed record SimImage(string Reference, ImmutableArray<long> Layers, string Architecture = SimRegistry.SparkArchitecture);

/// <summary>
/// The registries a simulated Spark pulls from: the images they hold, which of them need a login first, and what the
/// Spark has pulled. <c>docker pull</c>'s lines are the CLI's own without a terminal.
/// </summary>
public sealed class SimRegistry
{
    /// <summary>A simulated Spark is a GB10's aarch64, <c>arm64</c> in docker's words.</summary>
    public const string SparkArchitecture = "arm64";

    private readonly ConcurrentDictionary<string, SimImage> _images = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _pulled = new(StringComparer.Ordinal);

    public void Add(SimImage image) => _images[image.Reference] = image;

    public bool IsPulled(string image) => _pulled.ContainsKey(image);

    /// <summary>The image, or the CLI's error for one the registry does not have (or will not show before a login).</summary>
    public SimImage Find(string spark, string image, bool loggedIn)
    {
        if (!loggedIn)
        {
            throw new SparkCommandException(spark, $"docker manifest inspect {image} failed on {spark} (exit 1): unauthorized: authentication required", 1, string.Empty);
        }

        return _images.TryGetValue(image, out var found)
            ? found
            : throw new SparkCommandException(spark, $"docker manifest inspect {image} failed on {spark} (exit 1): no such manifest: {image}", 1, string.Empty);
    }

    /// <summary>The lines <c>docker pull</c> prints for <paramref name="image"/>: every layer announced, then each one done in turn.</summary>
    public IEnumerable<(string Line, long Bytes)> PullLines(SimImage image)
    {
        var ids = image.Layers.Select((_, i) => LayerId(image.Reference, i)).ToList();
        var tag = image.Reference[(image.Reference.LastIndexOf(':') + 1)..];
        yield return ($"{tag}: Pulling from {image.Reference[(image.Reference.IndexOf('/') + 1)..image.Reference.LastIndexOf(':')]}", 0);
        var present = IsPulled(image.Reference);
        foreach (var id in ids)
        {
            yield return ($"{id}: {(present ? "Already exists" : "Pulling fs layer")}", 0);
        }

        if (!present)
        {
            for (var i = 0; i < ids.Count; i++)
            {
                yield return ($"{ids[i]}: Download complete", image.Layers[i]);
                yield return ($"{ids[i]}: Pull complete", 0);
            }
        }

        _pulled[image.Reference] = true;
        yield return ($"Status: {(present ? "Image is up to date for" : "Downloaded newer image for")} {image.Reference}", 0);
    }

    private static string LayerId(string reference, int index) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{reference}#{index}")))[..12];
}
