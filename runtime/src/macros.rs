//! Small macros shared by the engine's modules.

/// A `#[repr(u32)]` enum whose values cross the parent/child channel as `u32`:
/// generates `from_u32` (an unknown value reads as the `default` variant) and
/// `as_str` (the variant's name), so the table of values is written once.
macro_rules! u32_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            default $default:ident = $dv:literal,
            $($(#[$vmeta:meta])* $var:ident = $val:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[repr(u32)]
        $vis enum $name {
            $default = $dv,
            $($(#[$vmeta])* $var = $val,)*
        }

        impl $name {
            /// The variant with value `v` (the default one for an unknown value).
            pub fn from_u32(v: u32) -> $name {
                match v {
                    $($val => $name::$var,)*
                    _ => $name::$default,
                }
            }

            /// The variant's name.
            #[allow(dead_code)]
            pub fn as_str(self) -> &'static str {
                match self {
                    $name::$default => stringify!($default),
                    $($name::$var => stringify!($var),)*
                }
            }
        }
    };
}
