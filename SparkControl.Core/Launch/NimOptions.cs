using SparkControl.Core.Hosts;
using Microsoft.Extensions.Options;
using SparkControl.Core.Sparks;

namespace SparkControl.Core.Launch;

/// <summary>Settings under <c>Nim</c>: which registries NIM images may come from.</summary>
public sealed class NimOptions
{
    public const string Section = "Nim";

    /// <summary>
    /// The registries the panel logs in to with the NGC key and pulls NIM images from; empty means NVIDIA's
    /// <c>nvcr.io</c> alone. A NIM image from any other registry is refused, so the key never goes to a host the
    /// operator did not name.
    /// </summary>
    public string[]? Registries { get; set; }

    public IReadOnlyList<string> Allowed => Registries is { Length: > 0 } registries ? registries : [LaunchSpecs.NimRegistry];

    /// <summary>
    /// Why the NGC key may not go to <paramref name="image"/>'s registry (it is not one the operator named), or null:
    /// the one rule a launch's preflight and a NIM install both apply.
    /// </summary>
    public string? RegistryRefusal(string image)
    {
        var registry = ImageRegistry.Of(image);
        return Allowed.Contains(registry, StringComparer.OrdinalIgnoreCase)
            ? null
            : $"{image} comes from {registry}, which is not one of the NIM registries ({string.Join(", ", Allowed)}): add it to Nim:Registries to pull from it with the NGC key";
    }
}

public sealed class NimOptionsValidator : IValidateOptions<NimOptions>
{
    public ValidateOptionsResult Validate(string? name, NimOptions options)
    {
        var errors = new List<string>();
        foreach (var registry in options.Registries ?? [])
        {
            // A registry is what an image reference starts with: checked as the image "REGISTRY/x" is.
            if (SparkValidation.ImageReference($"{registry}/x", $"{NimOptions.Section}:Registries") is not null || ImageRegistry.Of($"{registry}/x") != registry)
            {
                errors.Add($"{NimOptions.Section}:Registries holds '{Validation.Validators.Printable(registry)}', which is not a registry host (like nvcr.io or 127.0.0.1:5000)");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
