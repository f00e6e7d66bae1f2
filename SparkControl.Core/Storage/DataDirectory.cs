using System.Collections.Concurrent;
using System.Text;

namespace SparkControl.Core.Storage;

/// <summary>
/// The data directory (<c>SPARKCONTROL_DATA</c>, default <c>./data</c>): every file the panel keeps is written here,
/// atomically (temp file, flush, rename) and one writer per file at a time.
/// </summary>
/// <remarks>
/// A read-only or missing directory never stops the app: writes fail with a <see cref="DataDirectoryException"/>
/// that names the path, which the API turns into a 503 problem and the pages into a visible notice.
/// </remarks>
public sealed class DataDirectory
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _fileLocks = new(StringComparer.Ordinal);
    private readonly StorageHealth? _health;

    /// <param name="health">Told how each write went, for the banner and <c>/healthz</c> (none in tests of the files alone).</param>
    public DataDirectory(string path, StorageHealth? health = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        _health = health;
        TryCreate();
    }

    public string Path { get; }

    public string Resolve(string fileName) => System.IO.Path.Combine(Path, fileName);

    /// <summary>Whether a file can be created here right now; <paramref name="reason"/> says why not.</summary>
    public bool CanWrite(out string? reason)
    {
        var probe = Resolve($".write-probe-{Guid.NewGuid():N}");
        try
        {
            using (File.Create(probe, 1, FileOptions.DeleteOnClose))
            {
            }

            reason = null;
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            reason = Describe(ex);
            return false;
        }
    }

    public bool Exists(string fileName) => File.Exists(Resolve(fileName));

    public async Task<string?> ReadTextAsync(string fileName, CancellationToken cancellationToken)
    {
        var path = Resolve(fileName);
        try
        {
            return await File.ReadAllTextAsync(path, Encoding.UTF8, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DataDirectoryException(path, $"Cannot read {path}: {Describe(ex)}.", ex);
        }
    }

    /// <summary>
    /// Replaces <paramref name="fileName"/> with <paramref name="content"/> so that a reader sees the old file or the
    /// new one, never a torn one, and a crash leaves the old file intact.
    /// </summary>
    public async Task WriteAtomicAsync(string fileName, string content, CancellationToken cancellationToken, UnixFileMode? mode = null)
    {
        var path = Resolve(fileName);
        var gate = _fileLocks.GetOrAdd(fileName, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            // A rename replaces a file whatever its mode, and root may write anything: a file the operator made
            // read-only is honoured here, never replaced.
            if (!OperatingSystem.IsWindows() && File.Exists(path) && (File.GetUnixFileMode(path) & UnixFileMode.UserWrite) == 0)
            {
                throw new DataDirectoryException(path, $"{path} is read-only, so the panel leaves it as it is. Make it writable (chmod u+w) to change it from here.");
            }

            TryCreate();
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
            };
            if (mode is { } unixMode && !OperatingSystem.IsWindows())
            {
                // Created with the final mode, so a secret is never readable by others, not even for a moment.
                options.UnixCreateMode = unixMode;
            }

            var stream = new FileStream(temp, options);
            await using (stream.ConfigureAwait(false))
            {
                var bytes = Encoding.UTF8.GetBytes(content);
                await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
            _health?.Succeeded(fileName);
        }
        catch (DataDirectoryException)
        {
            // The operator's read-only file: left alone on purpose, not a storage fault.
            throw;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            _health?.Failed(fileName, path, ex);
            throw new DataDirectoryException(path, $"Cannot write {path}: {Describe(ex)}. Make the data directory ({Path}) writable, or point SPARKCONTROL_DATA at one that is.", ex);
        }
        finally
        {
            gate.Release();
        }
    }

    private void TryCreate()
    {
        try
        {
            Directory.CreateDirectory(Path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Reported by the first write or by CanWrite; a read-only directory must not stop the app.
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Nothing more to do: the temp file was never created or the directory is read-only.
        }
    }

    /// <summary>An I/O failure in words an operator can act on (the disk is full, read-only, permission denied).</summary>
    public static string Describe(Exception ex) => ex switch
    {
        UnauthorizedAccessException => "permission denied",
        IOException io when io.HResult == 30 || io.Message.Contains("Read-only file system", StringComparison.OrdinalIgnoreCase) => "the file system is read-only",
        IOException io when io.HResult == 28 || io.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase) => "the disk is full",
        _ => ex.Message.TrimEnd('.'),
    };
}

/// <summary>A file in the data directory could not be read or written; <see cref="FilePath"/> names it.</summary>
public sealed class DataDirectoryException(string filePath, string message, Exception? inner = null)
    : IOException(message, inner)
{
    public string FilePath { get; } = filePath;
}
