using SparkControl.Core.Validation;

namespace SparkControl.Core.Remote;

/// <summary>A private key file the panel may not use, with the reason in words an operator can act on.</summary>
public sealed class SshKeyFileException(string message) : IOException(message);

/// <summary>
/// Where SSH private keys may come from: <c>ssh-keys/</c> in the data directory (keys uploaded from Settings or the
/// API) and directories allow-listed in <c>SparkControl:Ssh:KeyDirectories</c>. A Spark's <c>keyPath</c> names a
/// regular file of at most <see cref="MaxKeyBytes"/> there, symlinks resolved: never <c>/etc/shadow</c> read as root,
/// never <c>/dev/zero</c> read until memory runs out.
/// </summary>
public static class SshKeyFiles
{
    public const string DirectoryName = "ssh-keys";

    /// <summary>Far above any real key (an RSA 16384 key is about 13 KiB), far below trouble.</summary>
    public const int MaxKeyBytes = 64 * 1024;

    /// <summary>Whether <paramref name="keyPath"/>, as written, lies in one of <paramref name="directories"/>; the problem if not.</summary>
    public static string? CheckLocation(string? keyPath, IReadOnlyList<string> directories, string field = "keyPath")
    {
        if (Validators.AbsolutePath(keyPath, field) is { } error)
        {
            return error;
        }

        return directories.Any(d => Validators.IsUnder(keyPath!, d.TrimEnd('/')) && keyPath!.Length > d.TrimEnd('/').Length)
            ? null
            : $"{field} '{keyPath}' is not in a key directory: upload the key in Settings (it is kept in {directories[0]}) or allow its directory with SparkControl:Ssh:KeyDirectories";
    }

    /// <summary>
    /// Reads the key for a connection: the real file (symlinks resolved) must still lie in a key directory, be a regular
    /// file and hold at most <see cref="MaxKeyBytes"/>. Only then is anything read, and never more than that.
    /// </summary>
    public static byte[] Read(string keyPath, IReadOnlyList<string> directories)
    {
        if (CheckLocation(keyPath, directories) is { } location)
        {
            throw new SshKeyFileException(location);
        }

        // Every link on the way resolved (a linked directory as much as a linked file), then checked again.
        var real = RealPath(keyPath);
        if (real is null)
        {
            throw new SshKeyFileException($"the key {keyPath} does not exist: upload it in Settings");
        }

        // The key directories themselves may be links (a data directory under /tmp, a mounted volume): compare real paths.
        if (real != keyPath && CheckLocation(real, [.. directories.Select(d => RealPath(d) ?? d)]) is not null)
        {
            throw new SshKeyFileException($"the key {keyPath} leads to {real}, outside the key directories; copy the key itself there");
        }

        if (!File.Exists(real))
        {
            throw new SshKeyFileException(Directory.Exists(real)
                ? $"the key {keyPath} is a directory, not a key file"
                : $"the key {keyPath} does not exist: upload it in Settings");
        }

        if (FileType(real) is not UnixFileType.Regular)
        {
            throw new SshKeyFileException($"the key {keyPath} is not a regular file (a device, pipe or socket cannot be a key)");
        }

        using var stream = new FileStream(real, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read, Options = FileOptions.None });
        var buffer = new byte[MaxKeyBytes + 1];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = stream.Read(buffer, total, buffer.Length - total)) > 0)
        {
            total += read;
        }

        if (total > MaxKeyBytes)
        {
            throw new SshKeyFileException($"the key {keyPath} is larger than {MaxKeyBytes / 1024} KiB, so it is not a private key");
        }

        return buffer[..total];
    }

    private enum UnixFileType
    {
        Unknown,
        Regular,
        Other,
    }

    /// <summary>
    /// The file's type from the kernel (statx): .NET reports /dev/zero and a FIFO as plain files, and opening a FIFO to
    /// look would block. statx's buffer has the same layout on every architecture (x64 here, arm64 on a Spark).
    /// </summary>
    private static UnixFileType FileType(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return UnixFileType.Unknown;
        }

        var buffer = new byte[256];
        if (NativeMethods.Statx(AtCurrentDirectory, path, 0, StatxType, buffer) != 0)
        {
            return UnixFileType.Unknown;
        }

        var mode = BitConverter.ToUInt16(buffer, 28);
        return (mode & 0xF000) == 0x8000 ? UnixFileType.Regular : UnixFileType.Other;
    }

    /// <summary>The canonical path with every symlink resolved (libc realpath), or null when it does not exist.</summary>
    private static string? RealPath(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return Path.GetFullPath(path);
        }

        var resolved = NativeMethods.RealPath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            return System.Runtime.InteropServices.Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            NativeMethods.Free(resolved);
        }
    }

    private const int AtCurrentDirectory = -100;
    private const uint StatxType = 0x1;

    private static class NativeMethods
    {
        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "statx", SetLastError = true, CharSet = System.Runtime.InteropServices.CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        [System.Runtime.InteropServices.DefaultDllImportSearchPaths(System.Runtime.InteropServices.DllImportSearchPath.SafeDirectories)]
        public static extern int Statx(int directory, string path, int flags, uint mask, [System.Runtime.InteropServices.Out] byte[] buffer);

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "realpath", SetLastError = true, CharSet = System.Runtime.InteropServices.CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        [System.Runtime.InteropServices.DefaultDllImportSearchPaths(System.Runtime.InteropServices.DllImportSearchPath.SafeDirectories)]
        public static extern IntPtr RealPath(string path, IntPtr resolved);

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "free")]
        [System.Runtime.InteropServices.DefaultDllImportSearchPaths(System.Runtime.InteropServices.DllImportSearchPath.SafeDirectories)]
        public static extern void Free(IntPtr pointer);
    }
}
