//! serde's side of the writer: each value serde hands over becomes a scalar, or opens and closes a
//! mapping or sequence; the shapes libyaml writes otherwise (floats, bytes, tagged variants) are
//! refused.

use std::fmt;

use serde::ser::{self, Serialize};

use super::style::Asked;
use super::{Result, Unsupported, Writer};

impl<'a> ser::Serializer for &mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    fn serialize_bool(self, v: bool) -> Result {
        self.scalar(if v { "true" } else { "false" }, Asked::Plain)
    }
    fn serialize_i8(self, v: i8) -> Result {
        self.serialize_i128(i128::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result {
        self.serialize_i128(i128::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result {
        self.serialize_i128(i128::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result {
        self.serialize_i128(i128::from(v))
    }
    fn serialize_i128(self, v: i128) -> Result {
        self.scalar(&v.to_string(), Asked::Plain)
    }
    fn serialize_u8(self, v: u8) -> Result {
        self.serialize_u128(u128::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result {
        self.serialize_u128(u128::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result {
        self.serialize_u128(u128::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result {
        self.serialize_u128(u128::from(v))
    }
    fn serialize_u128(self, v: u128) -> Result {
        self.scalar(&v.to_string(), Asked::Plain)
    }
    fn serialize_f32(self, _v: f32) -> Result {
        Err(Unsupported)
    }
    fn serialize_f64(self, _v: f64) -> Result {
        Err(Unsupported)
    }
    fn serialize_char(self, v: char) -> Result {
        self.scalar(v.encode_utf8(&mut [0; 4]), Asked::SingleQuoted)
    }
    fn serialize_str(self, v: &str) -> Result {
        self.string(v)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        self.scalar("null", Asked::Plain)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result {
        Err(Unsupported) // yaml_serde writes a tag
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self> {
        self.start(false)?;
        Ok(self)
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self> {
        self.start(false)?;
        Ok(self)
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self> {
        self.start(false)?;
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Unsupported)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self> {
        self.start(true)?;
        Ok(self)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self> {
        self.start(true)?;
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Unsupported)
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result {
        let text = value.to_string();
        // yaml_serde reads `!name` as a tag when it is the first key of a one-entry map.
        if text.starts_with('!') {
            return Err(Unsupported);
        }
        self.string(&text)
    }
}

impl<'a> ser::SerializeSeq for &mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        Writer::end(self)
    }
}

impl<'a> ser::SerializeTuple for &mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        Writer::end(self)
    }
}

impl<'a> ser::SerializeTupleStruct for &mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        Writer::end(self)
    }
}

impl<'a> ser::SerializeMap for &mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        key.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        Writer::end(self)
    }
}

impl<'a> ser::SerializeStruct for &mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.string(key)?;
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        Writer::end(self)
    }
}
