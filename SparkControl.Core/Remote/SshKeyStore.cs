using System.Text;
using Renci.SshNet;
using Renci.SshNet.Common;
using SparkControl.Core.Storage;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Remote;

/// <summary>A private key the panel keeps, as shown: never its content, only what identifies it.</summary>
public sealed record SshKeyInfo(string Name, string Path, string? Type, string? Fingerprint, bool Encrypted, long Bytes);

/// <summary>
/// The SSH private keys uploaded from Settings or the API, in <c>ssh-keys/</c> of the data directory (0700, each key
/// 0600), plus the allow-listed key directories: where a Spark's <c>keyPath</c> may point (see <see cref="SshKeyFiles"/>).
/// </summary>
public sealed class SshKeyStore(DataDirectory dataDirectory, IReadOnlyList<string> extraDirectories)
{
    /// <summary>The upload directory first, then the allow-listed ones.</summary>
    public IReadOnlyList<string> Directories { get; } = [dataDirectory.Resolve(SshKeyFiles.DirectoryName), .. extraDirectories.Select(d => d.TrimEnd('/'))];

    public string PathOf(string name) => Path.Combine(Directories[0], name);

    public string? CheckLocation(string? keyPath, string field = "keyPath") => SshKeyFiles.CheckLocation(keyPath, Directories, field);

    /// <summary>Checks, then stores (or replaces) a key under <paramref name="name"/>; the file is 0600 from its first byte.</summary>
    public async Task<SshKeyInfo> SaveAsync(string name, string? privateKey, CancellationToken cancellationToken)
    {
        var errors = new List<FieldError>();
        if (Validators.Name(name, "name") is { } badName)
        {
            errors.Add(new FieldError("name", badName));
        }

        var bytes = Encoding.UTF8.GetBytes(privateKey ?? string.Empty);
        if (string.IsNullOrWhiteSpace(privateKey))
        {
            errors.Add(new FieldError("privateKey", "privateKey is required: the key file's content (-----BEGIN ... PRIVATE KEY-----)"));
        }
        else if (bytes.Length > SshKeyFiles.MaxKeyBytes)
        {
            errors.Add(new FieldError("privateKey", $"privateKey is {bytes.Length:N0} bytes; a private key is at most {SshKeyFiles.MaxKeyBytes / 1024} KiB"));
        }
        else if (Describe(bytes) is null)
        {
            errors.Add(new FieldError("privateKey", "privateKey is not an OpenSSH or PEM private key (ssh-keygen -t ed25519 makes one)"));
        }

        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        CreateDirectory();
        await dataDirectory.WriteAtomicAsync(Path.Combine(SshKeyFiles.DirectoryName, name), privateKey!, cancellationToken, UnixFileMode.UserRead | UnixFileMode.UserWrite).ConfigureAwait(false);
        return Info(name) ?? throw new IOException($"{PathOf(name)} was written but cannot be read back");
    }

    public IReadOnlyList<SshKeyInfo> List()
    {
        if (!Directory.Exists(Directories[0]))
        {
            return [];
        }

        return [.. Directory.EnumerateFiles(Directories[0])
            .Select(Path.GetFileName)
            .Where(n => n is not null && Validators.Name(n, "name") is null)
            .Order(StringComparer.Ordinal)
            .Select(n => Info(n!))
            .OfType<SshKeyInfo>()];
    }

    public SshKeyInfo? Info(string name)
    {
        var path = PathOf(name);
        try
        {
            var bytes = SshKeyFiles.Read(path, Directories);
            var described = Describe(bytes);
            return new SshKeyInfo(name, path, described?.Type, described?.Fingerprint, described?.Encrypted ?? false, bytes.Length);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Remove(string name)
    {
        var path = PathOf(name);
        if (!File.Exists(path))
        {
            throw new KeyNotFoundException($"There is no SSH key named '{name}'.");
        }

        File.Delete(path);
    }

    private void CreateDirectory()
    {
        var directory = Directories[0];
        if (!Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
    }

    /// <summary>The key's type and public fingerprint (as <c>ssh-keygen -lf</c> prints it), or null when it is not a key.</summary>
    public static (string? Type, string? Fingerprint, bool Encrypted)? Describe(byte[] key)
    {
        try
        {
            using var stream = new MemoryStream(key, writable: false);
            using var file = new PrivateKeyFile(stream);
            var algorithm = file.HostKeyAlgorithms.First();
            return (algorithm.Name, HostKeyStore.Fingerprint(algorithm.Data), false);
        }
        catch (SshPassPhraseNullOrEmptyException)
        {
            // A key with a passphrase: real, and usable once the Spark's passphrase secret is set.
            return (null, null, true);
        }
        catch (Exception ex) when (ex is SshException or ArgumentException or InvalidOperationException or FormatException or NotSupportedException or IndexOutOfRangeException or InvalidDataException)
        {
            return null;
        }
    }
}
